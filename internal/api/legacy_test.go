package api

import (
	"slices"
	"testing"
)

// TestIsLegacyPath: the legacy paths of docs/compatibility.md "Routes" (left column) are
// legacy, the readable aliases (right column) are not, nor is anything
// outside the prefix.
func TestIsLegacyPath(t *testing.T) {
	legacy := []string{"gtstatus", "gt", "gt/5", "globalTag/G", "globalTags", "gtPayloadLists/G",
		"cloneGlobalTag/A/B", "gt_change_status/G/locked", "deleteGlobalTag/G", "pt", "deletePayloadType/T",
		"pl", "pl/3", "pl_attach", "deletePayloadList/L", "piov", "piov/3", "bulk_piov", "piov_attach",
		"payloadiovs/", "payloadiovs", "deletePayloadIOV/G/T/1/0", "deletePayloadIOV/G/T/1/0/2/0",
		"user_settings/CDB_X/", "user_settings/CDB_X", "timeout", "gt/"}
	alias := []string{"global-tags/statuses", "global-tags", "global-tags/G", "global-tags/G/payload-lists",
		"global-tags/A/clone/B", "global-tags/G/change-status/locked", "global-tags/G/delete",
		"payload-types", "payload-types/T/delete", "payload-lists", "payload-lists/3", "payload-lists/by-name/L",
		"payload-lists/attach", "payload-lists/L/delete", "payload-iovs", "payload-iovs/3", "payload-iovs/bulk",
		"payload-iovs/attach", "payload-iovs/query/", "payload-iovs/G/T/1/0/delete", "settings/CDB_X/"}
	for _, p := range legacy {
		if !IsLegacyPath([]byte(Prefix + p)) {
			t.Errorf("%s is not taken for legacy", p)
		}
	}
	for _, p := range alias {
		if IsLegacyPath([]byte(Prefix + p)) {
			t.Errorf("alias %s is taken for legacy", p)
		}
	}
	for _, p := range []string{"/", HealthzPath, MetricsPath, "/api/cdb_restpt", "/api/pt", "pt"} {
		if IsLegacyPath([]byte(p)) {
			t.Errorf("%s is taken for legacy", p)
		}
	}
	// Every route has a path of each kind except the alias-only one.
	for _, rt := range Routes {
		var kinds []bool
		for _, p := range rt.Paths {
			kinds = append(kinds, IsLegacyPath([]byte(Prefix+p)))
		}
		if rt.Name != PayloadListByName && !slices.Equal(kinds, []bool{true, false}) && !slices.Equal(kinds, []bool{true}) {
			t.Errorf("route %s: paths %v classified %v, want legacy first then alias", rt.Name, rt.Paths, kinds)
		}
	}
}
