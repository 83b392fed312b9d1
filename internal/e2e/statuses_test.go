package e2e

import (
	"strings"
	"testing"
)

// docs/compatibility.md "Statuses" (routes 1, 2): GT statuses.

func statusNames(c *client, path string) map[string]map[string]any {
	c.t.Helper()
	out := map[string]map[string]any{}
	for _, s := range arr(c.t, c.ok("GET", path, nil).JSON) {
		m := obj(c.t, s)
		out[str(c.t, m["name"])] = m
	}
	return out
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	both(t, "gtstatus", "global-tags/statuses", func(t *testing.T, path string) {
		c := shared(t)
		name := uniqz("st")
		r := c.ok("POST", path, map[string]any{"name": name, "description": "ignored"})
		m := obj(t, r.JSON)
		wantKeys(t, "Status", m, "id", "name", "created")
		id := i64(t, m["id"])
		if m["name"] != name {
			t.Errorf("name %v, want %s", m["name"], name)
		}
		ts(t, "created", m["created"])

		// Listed by both paths, same shape.
		for _, p := range []string{"gtstatus", "global-tags/statuses"} {
			got, ok := statusNames(c, p)[name]
			if !ok {
				t.Fatalf("GET %s lacks %s", p, name)
			}
			wantKeys(t, "Status", got, "id", "name", "created")
			if i64(t, got["id"]) != id || got["created"] != m["created"] {
				t.Errorf("GET %s: %v, want %v", p, got, m)
			}
		}

		// Duplicate -> 409 with the DRF array.
		r = c.do("POST", path, map[string]any{"name": name})
		wantErr(t, r, "conflict", "", 409)
		wantField(t, r, "name", "global tag status with this name already exists.")

		inList := uniqz("st")
		bad := []struct {
			body        any
			field, want string
		}{
			{map[string]any{}, "name", "This field is required."},
			{map[string]any{"description": "x"}, "name", "This field is required."},
			{map[string]any{"name": ""}, "name", "This field may not be blank."},
			{map[string]any{"name": strings.Repeat("s", 81)}, "name", "Ensure this field has no more than 80 characters."},
			{[]any{map[string]any{"name": inList}}, "non_field_errors", "Invalid data. Expected a dictionary, but got list."},
			{map[string]any{"name": nil}, "name", "This field may not be null."},
			{map[string]any{"name": []any{"x"}}, "name", ""},
		}
		for _, b := range bad {
			r := c.do("POST", path, b.body)
			wantErr(t, r, "invalid", "", 400)
			wantField(t, r, b.field, b.want)
		}
		names := statusNames(c, "gtstatus")
		for _, n := range []string{inList, strings.Repeat("s", 81), ""} {
			if _, ok := names[n]; ok {
				t.Errorf("a refused status creation created %q", n)
			}
		}

		// 80 characters is fine.
		long := name + strings.Repeat("x", 80-len(name))
		c.ok("POST", path, map[string]any{"name": long})
		if _, ok := statusNames(c, path)[long]; !ok {
			t.Errorf("80-char status not listed")
		}
	})
}
