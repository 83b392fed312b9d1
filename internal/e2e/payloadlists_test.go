package e2e

import (
	"fmt"
	"testing"
)

// docs/compatibility.md "Payload lists" (routes 15–19). Deletion: deletes_test.go.

var (
	plWriteKeys  = []string{"id", "name", "global_tag", "payload_type", "created"}
	plBrowseKeys = []string{"id", "name", "global_tag", "payload_type", "iov_count", "created"}
)

func TestPayloadListCreateAndRead(t *testing.T) {
	t.Parallel()
	both(t, "pl", "payload-lists", func(t *testing.T, path string) {
		c := shared(t)
		pt := uniqz("PTl")
		ptID := i64(t, obj(t, c.ok("POST", "pt", map[string]any{"name": pt}).JSON)["id"])
		gt := c.mkGT("unlocked")
		gtID := i64(t, obj(t, c.ok("GET", "globalTag/"+gt+"?light", nil).JSON)["id"])

		// Every key but payload_type is ignored; the list is created detached.
		m := obj(t, c.ok("POST", path, map[string]any{"payload_type": pt, "name": "mine", "id": 1, "global_tag": gt, "description": "d"}).JSON)
		wantKeys(t, "PLWrite(POST pl)", m, plWriteKeys...)
		id := i64(t, m["id"])
		name := str(t, m["name"])
		if name != fmt.Sprintf("%s_%d", pt, id) || m["global_tag"] != nil || m["payload_type"] != pt {
			t.Errorf("POST pl answered %v; want name %s_%d, global_tag null, payload_type %s", m, pt, id, pt)
		}
		ts(t, "created", m["created"])
		if l := c.gtLists(gt); len(l) != 0 {
			t.Errorf("POST pl attached the list: %v", l)
		}
		// A second list gets a larger id.
		m2 := obj(t, c.ok("POST", path, map[string]any{"payload_type": pt}).JSON)
		if i64(t, m2["id"]) <= id {
			t.Errorf("list ids not increasing: %d then %v", id, m2["id"])
		}

		// pl/<id>: numeric FKs, global_tag null while detached.
		for _, p := range []string{"pl/%d", "payload-lists/%d"} {
			g := obj(t, c.ok("GET", fmt.Sprintf(p, id), nil).JSON)
			wantKeys(t, "PLWrite(pl/<id>)", g, plWriteKeys...)
			if g["global_tag"] != nil || i64(t, g["payload_type"]) != ptID || g["name"] != name || i64(t, g["id"]) != id || g["created"] != m["created"] {
				t.Errorf("GET %s: %v (PT id %d)", p, g, ptID)
			}
		}
		// by-name: PLBrowse.
		b := obj(t, c.ok("GET", "payload-lists/by-name/"+name, nil).JSON)
		wantKeys(t, "PLBrowse", b, plBrowseKeys...)
		if b["global_tag"] != nil || b["payload_type"] != pt || i64(t, b["iov_count"]) != 0 || i64(t, b["id"]) != id {
			t.Errorf("by-name: %v", b)
		}

		// Attach, add IOVs, read again.
		c.ok("PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": name})
		for i := range 3 {
			iov := c.mkPIOV(uniqz("u"), P{int64(i), 0}, P{int64(i) + 1, 0})
			c.ok("PUT", "piov_attach", map[string]any{"payload_list": name, "piov_id": iov})
		}
		for _, p := range []string{"pl/%d", "payload-lists/%d"} {
			g := obj(t, c.ok("GET", fmt.Sprintf(p, id), nil).JSON)
			if i64(t, g["global_tag"]) != gtID || i64(t, g["payload_type"]) != ptID {
				t.Errorf("GET %s after attach: %v; want global_tag %d (numeric)", p, g, gtID)
			}
		}
		b = obj(t, c.ok("GET", "payload-lists/by-name/"+name, nil).JSON)
		if b["global_tag"] != gt || i64(t, b["iov_count"]) != 3 {
			t.Errorf("by-name after attach: %v", b)
		}

		// GET pl lists every list, detached ones too, as PLFull.
		for _, p := range []string{"pl", "payload-lists"} {
			seen := map[string]map[string]any{}
			for _, e := range arr(t, c.ok("GET", p, nil).JSON) {
				em := obj(t, e)
				wantKeys(t, "PLFull in "+p, em, plFullKeys...)
				seen[str(t, em["name"])] = em
			}
			att, det := seen[name], seen[str(t, m2["name"])]
			if att == nil || det == nil {
				t.Fatalf("GET %s lacks %s or %v", p, name, m2["name"])
			}
			if att["global_tag"] != gt || att["payload_type"] != pt || len(arr(t, att["payload_iov"])) != 3 {
				t.Errorf("GET %s: %v", p, att)
			}
			for _, v := range arr(t, att["payload_iov"]) {
				wantKeys(t, "PIOV in PLFull", obj(t, v), piovKeys...)
			}
			if det["global_tag"] != nil || len(arr(t, det["payload_iov"])) != 0 {
				t.Errorf("GET %s detached list: %v", p, det)
			}
		}

		// Not found.
		for _, p := range []string{"pl/999999999999", "payload-lists/999999999999", "payload-lists/by-name/" + uniqz("nosuch")} {
			wantErr(t, c.get(p), "not_found", "Not found.", 404)
		}

		// Refused creations write nothing.
		ghostType := uniqz("ghostPT")
		for _, tc := range []struct {
			body     any
			statuses []int
			field    string
			msg      string
		}{
			{map[string]any{}, []int{400}, "payload_type", "This field is required."},
			{map[string]any{"name": "x"}, []int{400}, "payload_type", "This field is required."},
			{map[string]any{"payload_type": 5}, []int{400}, "", ""},
			{map[string]any{"payload_type": nil}, []int{400}, "", ""},
			{[]any{map[string]any{"payload_type": pt}}, []int{400}, "non_field_errors", "Invalid data. Expected a dictionary, but got list."},
			{map[string]any{"payload_type": ghostType}, []int{400, 404}, "", ""},
		} {
			r := c.do("POST", path, tc.body)
			code := ""
			if len(tc.statuses) == 1 {
				code = "invalid"
			}
			wantErr(t, r, code, "", tc.statuses...)
			if tc.field != "" {
				wantField(t, r, tc.field, tc.msg)
			}
		}
		if n := i64(t, obj(t, c.ok("GET", "pl?page=1&payload_type="+pt, nil).JSON)["count"]); n != 2 {
			t.Errorf("type %s has %d lists after refused creations, want 2", pt, n)
		}
		if n := i64(t, obj(t, c.ok("GET", "pl?page=1&search="+ghostType, nil).JSON)["count"]); n != 0 {
			t.Errorf("a list of unknown type %s was created", ghostType)
		}
	})
}

func TestPayloadListAttach(t *testing.T) {
	t.Parallel()
	both(t, "pl_attach", "payload-lists/attach", func(t *testing.T, path string) {
		c := shared(t)
		gt, gt2 := c.mkGT("unlocked"), c.mkGT("unlocked")
		pt, pt2 := c.mkPT(), c.mkPT()
		l1, _ := c.mkPL(pt)

		updated := func() string {
			return str(t, obj(t, c.ok("GET", "globalTag/"+gt+"?light", nil).JSON)["updated"])
		}
		u0 := updated()
		m := obj(t, c.ok("PUT", path, map[string]any{"global_tag": gt, "payload_list": l1}).JSON)
		wantKeys(t, "PLWrite(pl_attach)", m, plWriteKeys...)
		// Attaching a list re-saves the GT: `updated` moves forward.
		if u1 := updated(); ts(t, "updated", u1).Compare(ts(t, "updated", u0)) <= 0 {
			t.Errorf("GT updated not bumped by pl_attach: %s -> %s", u0, u1)
		}
		if m["name"] != l1 || m["global_tag"] != gt || m["payload_type"] != pt {
			t.Errorf("pl_attach answered %v; want names", m)
		}
		ts(t, "created", m["created"])

		// Same type: replaces (the old list is detached, not deleted).
		l2, _ := c.mkPL(pt)
		c.ok("PUT", path, map[string]any{"global_tag": gt, "payload_list": l2})
		if got := c.gtLists(gt); got[pt] != l2 || len(got) != 1 {
			t.Errorf("after replacing: %v, want {%s: %s}", got, pt, l2)
		}
		if g := obj(t, c.ok("GET", "payload-lists/by-name/"+l1, nil).JSON)["global_tag"]; g != nil {
			t.Errorf("replaced list still attached to %v", g)
		}
		// Re-attaching the same list in an unlocked GT is fine.
		c.ok("PUT", path, map[string]any{"global_tag": gt, "payload_list": l2})

		// Moving a list to another GT removes it from the first.
		c.ok("PUT", path, map[string]any{"global_tag": gt2, "payload_list": l2})
		if got := c.gtLists(gt); len(got) != 0 {
			t.Errorf("moved list still in source GT: %v", got)
		}
		if got := c.gtLists(gt2); got[pt] != l2 {
			t.Errorf("moved list not in destination GT: %v", got)
		}

		// Locked: a new type is fine; the same type (even the same list) is refused.
		l3, _ := c.mkPL(pt2)
		c.setStatus(gt2, "locked")
		c.ok("PUT", path, map[string]any{"global_tag": gt2, "payload_list": l3})
		before := c.snap(gt2)
		for _, l := range []string{l2, l3} {
			lt := pt
			if l == l3 {
				lt = pt2
			}
			r := c.do("PUT", path, map[string]any{"global_tag": gt2, "payload_list": l})
			wantErr(t, r, "locked", fmt.Sprintf("Payload List of type %s already attached and Global Tag is locked.", lt), 409)
		}
		l4, _ := c.mkPL(pt)
		r := c.do("PUT", path, map[string]any{"global_tag": gt2, "payload_list": l4})
		wantErr(t, r, "locked", fmt.Sprintf("Payload List of type %s already attached and Global Tag is locked.", pt), 409)
		c.wantUnchanged(gt2, before)
		if g := obj(t, c.ok("GET", "payload-lists/by-name/"+l4, nil).JSON)["global_tag"]; g != nil {
			t.Errorf("refused list attached to %v", g)
		}

		// Errors on an unlocked GT change nothing.
		c.ok("PUT", path, map[string]any{"global_tag": gt, "payload_list": l1})
		before = c.snap(gt)
		for _, tc := range []struct {
			body     any
			code     string
			statuses []int
			field    string
		}{
			{map[string]any{"global_tag": gt, "payload_list": uniqz("nosuch")}, "not_found", []int{404}, ""},
			{map[string]any{"global_tag": uniqz("nosuch"), "payload_list": l4}, "not_found", []int{404}, ""},
			{map[string]any{"payload_list": l4}, "invalid", []int{400}, "global_tag"},
			{map[string]any{"global_tag": gt}, "", []int{400, 404}, ""},
			{map[string]any{"global_tag": gt, "payload_list": 7}, "", []int{400, 404}, ""},
			{[]any{map[string]any{"global_tag": gt, "payload_list": l4}}, "invalid", []int{400}, "non_field_errors"},
			{rawJSON("null"), "invalid", []int{400}, ""},
		} {
			r := c.do("PUT", path, tc.body)
			wantErr(t, r, tc.code, "", tc.statuses...)
			if tc.field != "" {
				wantField(t, r, tc.field, "")
			}
		}
		c.wantUnchanged(gt, before)
		if g := obj(t, c.ok("GET", "payload-lists/by-name/"+l4, nil).JSON)["global_tag"]; g != nil {
			t.Errorf("refused list attached to %v", g)
		}
	})
}
