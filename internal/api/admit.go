package api

import "github.com/condcache/condcache/internal/admission"

// NewAdmission returns the admission control of a server of this API
// (admission.Controller), recording to m (nil: no metrics). The health
// probes, the metrics and the exempt paths are never shed; shed load is
// 504 on the legacy paths (IsLegacyPath), 503 or 429 elsewhere.
func NewAdmission(cfg admission.Config, m *HTTPMetrics, exempt ...string) *admission.Controller {
	paths := admission.Paths{
		Exempt: append([]string{HealthzPath, ReadyzPath, MetricsPath}, exempt...),
		Legacy: IsLegacyPath,
	}
	var am *admission.Metrics
	if m != nil {
		am = m.admission
	}
	return admission.New(cfg, paths, am)
}
