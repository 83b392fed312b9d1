package e2e

import (
	"strings"
	"testing"
)

// docs/compatibility.md "Payload types" (routes 12, 13): payload types. Deletion: deletes_test.go.

func TestPayloadTypes(t *testing.T) {
	t.Parallel()
	both(t, "pt", "payload-types", func(t *testing.T, path string) {
		c := shared(t)
		name := uniqz("PTx")
		m := obj(t, c.ok("POST", path, map[string]any{"name": name, "description": "ignored", "id": 1}).JSON)
		wantKeys(t, "PT", m, "id", "name", "created")
		id := i64(t, m["id"])
		if m["name"] != name {
			t.Errorf("PT %v", m)
		}
		ts(t, "created", m["created"])

		for _, p := range []string{"pt", "payload-types"} {
			found := false
			for _, e := range arr(t, c.ok("GET", p, nil).JSON) {
				em := obj(t, e)
				wantKeys(t, "PT in "+p, em, "id", "name", "created")
				if em["name"] == name {
					found = true
					if i64(t, em["id"]) != id || em["created"] != m["created"] {
						t.Errorf("GET %s: %v, want %v", p, em, m)
					}
				}
			}
			if !found {
				t.Errorf("GET %s lacks %s", p, name)
			}
		}

		r := c.do("POST", path, map[string]any{"name": name})
		wantErr(t, r, "conflict", "", 409)
		wantField(t, r, "name", "payload type with this name already exists.")

		for _, b := range []struct {
			body        any
			field, want string
		}{
			{map[string]any{}, "name", "This field is required."},
			{map[string]any{"name": ""}, "name", "This field may not be blank."},
			{map[string]any{"name": nil}, "name", "This field may not be null."},
			{map[string]any{"name": strings.Repeat("p", 81)}, "name", "Ensure this field has no more than 80 characters."},
			{[]any{"x"}, "non_field_errors", "Invalid data. Expected a dictionary, but got list."},
			{"just a string", "non_field_errors", "Invalid data. Expected a dictionary, but got str."},
		} {
			r := c.do("POST", path, b.body)
			wantErr(t, r, "invalid", "", 400)
			wantField(t, r, b.field, b.want)
		}
		if names := c.ptNames(); names[strings.Repeat("p", 81)] || names[""] {
			t.Errorf("a refused type creation created a type")
		}
	})
}
