package wire

import "github.com/condcache/condcache"

// CheckReport is the answer of the consistency check (docs/design.md
// "Consistency check"), the same from GET /api/v2/check and from
// `condcache check -o json`. GlobalTag is null when every GT was checked.
type CheckReport struct {
	GlobalTag *string        `json:"global_tag"`
	Count     int            `json:"count"`
	Findings  []CheckFinding `json:"findings"`
}

// CheckFinding is one condcache.Finding; payload_list is null for a
// duplicate_type finding, which is about several lists (ids).
type CheckFinding struct {
	Kind        string  `json:"kind"`
	Severity    string  `json:"severity"` // "warning", or "info" for what does not fail the check
	GlobalTag   string  `json:"global_tag"`
	PayloadType string  `json:"payload_type"`
	PayloadList *string `json:"payload_list"`
	IDs         []int64 `json:"ids"`
	Detail      string  `json:"detail"`
}

// NewCheckReport renders the findings of the GT named *globalTag (nil: of
// every GT), in their order; findings is never rendered as null.
func NewCheckReport(globalTag *string, findings []condcache.Finding) CheckReport {
	out := CheckReport{GlobalTag: globalTag, Count: len(findings), Findings: make([]CheckFinding, len(findings))}
	for i, f := range findings {
		var list *string
		if f.PayloadList != "" {
			list = &f.PayloadList
		}
		ids := f.IDs
		if ids == nil {
			ids = []int64{}
		}
		severity := "warning"
		if f.Kind.Informational() {
			severity = "info"
		}
		out.Findings[i] = CheckFinding{Kind: string(f.Kind), Severity: severity, GlobalTag: f.GlobalTag, PayloadType: f.PayloadType,
			PayloadList: list, IDs: ids, Detail: f.Detail}
	}
	return out
}
