package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

// Dry runs (docs/design.md "Dry runs") through the real writer and reader.

// predicted is one answer change of a dry run's answer.
type predicted struct {
	GlobalTag   string `json:"global_tag"`
	PayloadType string `json:"payload_type"`
	From        struct {
		Major int64 `json:"major"`
		Minor int64 `json:"minor"`
	} `json:"from"`
	Until *struct {
		Major int64 `json:"major"`
		Minor int64 `json:"minor"`
	} `json:"until"`
	Before *struct {
		URL      string `json:"url"`
		Checksum string `json:"checksum"`
	} `json:"before"`
	After *struct {
		URL      string `json:"url"`
		Checksum string `json:"checksum"`
	} `json:"after"`
}

func (p predicted) holds(at P) bool {
	from := P{p.From.Major, p.From.Minor}
	return !at.less(from) && (p.Until == nil || at.less(P{p.Until.Major, p.Until.Minor}))
}

type dryRunAnswer struct {
	DryRun        bool            `json:"dry_run"`
	Response      json.RawMessage `json:"response"`
	Changes       []struct{ Table, Action string }
	AnswerChanges []predicted `json:"answer_changes"`
}

// dryWrite is one random write: a method, a path, a body, and the GTs
// whose answers it may change.
type dryWrite struct {
	what, method, path string
	body               any
	gts                []string
}

// withDryRun adds dry_run=1 to path.
func withDryRun(path string) string {
	if strings.Contains(path, "?") {
		return path + "&dry_run=1"
	}
	return path + "?dry_run=1"
}

// TestDryRunPredictsAnswerChanges: for random writes of every kind, the
// dry run's answer changes equal, point by point, the changes the
// compatible lookup shows once the same write is made for real; and the
// dry run itself changes no answer, no generation (ETag) and marks nothing
// in Redis.
func TestDryRunPredictsAnswerChanges(t *testing.T) {
	sv, dbName := startServersDB(t)
	c := newClient(t, sv.ReaderURL)
	db, err := stack.Primary.Connect(t.Context(), dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	w := &invariantWorld{t: t, mode: condcache.ModeContinuous, c: c, db: db, rng: rand.New(rand.NewPCG(9, 9)),
		majors: []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, minors: []int64{0, 5}}
	gt := c.mkGT("unlocked")
	var types, lists []string
	for range 4 {
		pt := c.mkPT()
		pl := c.listOf(gt, pt)
		w.build(gt, pl)
		types, lists = append(types, pt), append(lists, pl)
	}
	c.listOf(gt, c.mkPT()) // legacy rows are published with this write (see runGT)
	clones := 0
	checked := 0
	for step := range 40 {
		wr := w.randomWrite(gt, types, lists, &clones)
		var all []IOV // a clone holds what gt holds
		for _, pt := range types {
			all = append(all, c.iovsOf(gt, pt)...)
		}
		probes := invariantProbes(all)
		before := map[string]map[P]map[string]Row{}
		tags := map[string]string{}
		for _, g := range wr.gts {
			before[g] = w.lookupAll(g, probes)
			tags[g] = c.get(lookupPath("payloadiovs/", g, 0, 0)).Header.Get("ETag")
		}
		marked := writerMetric(t, sv.WriterURL, `condcache_cache_invalidations_total{outcome="marked"}`)

		r := c.do(wr.method, withDryRun(wr.path), wr.body)
		if r.Status != 200 {
			t.Fatalf("step %d %s: dry run %s", step, wr.what, r)
		}
		var dry dryRunAnswer
		if err := json.Unmarshal(r.Body, &dry); err != nil || !dry.DryRun {
			t.Fatalf("step %d %s: dry run answer %s: %v", step, wr.what, r.Body, err)
		}
		// The dry run changed nothing.
		if got := writerMetric(t, sv.WriterURL, `condcache_cache_invalidations_total{outcome="marked"}`); got != marked {
			t.Fatalf("step %d %s: the dry run marked %v GTs in Redis", step, wr.what, got-marked)
		}
		for _, g := range wr.gts {
			if tag := c.get(lookupPath("payloadiovs/", g, 0, 0)).Header.Get("ETag"); tag != tags[g] {
				t.Fatalf("step %d %s: GT %s's generation moved from %s to %s with a dry run", step, wr.what, g, tags[g], tag)
			}
			if again := w.lookupAll(g, probes); fmt.Sprint(again) != fmt.Sprint(before[g]) {
				t.Fatalf("step %d %s: a dry run changed GT %s's answers", step, wr.what, g)
			}
		}

		if real := c.do(wr.method, wr.path, wr.body); real.Status != 200 {
			t.Fatalf("step %d %s: %s", step, wr.what, real)
		}
		for _, g := range wr.gts {
			after := w.lookupAll(g, probes)
			for _, p := range probes {
				for _, pt := range types {
					b, bok := before[g][p][pt]
					a, aok := after[p][pt]
					changed := bok != aok || b.URL != a.URL || b.Checksum != a.Checksum || fmt.Sprint(b.Size) != fmt.Sprint(a.Size)
					var hit *predicted
					for i, pc := range dry.AnswerChanges {
						if pc.GlobalTag == g && pc.PayloadType == pt && pc.holds(p) {
							hit = &dry.AnswerChanges[i]
						}
					}
					switch {
					case changed && hit == nil:
						t.Fatalf("step %d %s: GT %s type %s at %v changed from %v to %v, not predicted (%+v)", step, wr.what, g, pt, p, b, a, dry.AnswerChanges)
					case !changed && hit != nil:
						t.Fatalf("step %d %s: GT %s type %s at %v predicted to change (%+v), stayed %v", step, wr.what, g, pt, p, *hit, b)
					case hit != nil && (urlOf(hit.Before) != urlIf(b, bok) || urlOf(hit.After) != urlIf(a, aok)):
						t.Fatalf("step %d %s: GT %s type %s at %v: predicted %s → %s, saw %s → %s", step, wr.what, g, pt, p,
							urlOf(hit.Before), urlOf(hit.After), urlIf(b, bok), urlIf(a, aok))
					}
					checked++
				}
			}
		}
	}
	t.Logf("40 writes, %d (point, type) answers compared with their prediction", checked)
}

func urlOf(p *struct {
	URL      string `json:"url"`
	Checksum string `json:"checksum"`
}) string {
	if p == nil {
		return "(none)"
	}
	return p.URL
}

func urlIf(r Row, ok bool) string {
	if !ok {
		return "(none)"
	}
	return r.URL
}

func writerMetric(t *testing.T, writerURL, series string) float64 {
	t.Helper()
	v, err := readMetric(writerURL, series)
	if err != nil {
		v = 0 // a counter never incremented is not exported yet
	}
	return v
}

// randomWrite draws one write of any kind against gt's lists.
func (w *invariantWorld) randomWrite(gt string, types, lists []string, clones *int) dryWrite {
	c := w.c
	i := w.rng.IntN(len(lists))
	pl, pt := lists[i], types[i]
	switch w.rng.IntN(7) {
	case 0, 1: // attach a new IOV
		s := w.point()
		e := w.end(s)
		for !w.valid(s, e) {
			s = w.point()
			e = w.end(s)
		}
		id := c.mkPIOV(w.url(gt), s, e)
		return dryWrite{"attach", "PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id}, []string{gt}}
	case 2: // bulk load
		var elems []map[string]any
		for range 1 + w.rng.IntN(3) {
			s := w.point()
			elems = append(elems, map[string]any{"payload_url": w.url(gt), "major_iov": s.M, "minor_iov": s.m, "payload_list": pl})
		}
		return dryWrite{"bulk", "POST", "bulk_piov", elems, []string{gt}}
	case 3: // replace the type's list by a new one holding other IOVs
		nl, _ := c.mkPL(pt)
		w.build(gt, nl)
		lists[i] = nl
		return dryWrite{"list swap", "PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": nl}, []string{gt}}
	case 4: // delete an IOV
		if iovs := c.iovsOf(gt, pt); len(iovs) > 0 {
			v := iovs[w.rng.IntN(len(iovs))]
			same := 0
			for _, x := range iovs {
				if x.S == v.S && x.E == v.E {
					same++
				}
			}
			if same == 1 { // a delete matching several IOVs is refused
				path := fmt.Sprintf("deletePayloadIOV/%s/%s/%d/%d/%d/%d", gt, pt, v.S.M, v.S.m, v.E.M, v.E.m)
				return dryWrite{"delete IOV", "DELETE", path, nil, []string{gt}}
			}
		}
		return w.randomWrite(gt, types, lists, clones)
	case 5: // clone
		*clones++
		dst := fmt.Sprintf("%s_clone%d", gt, *clones)
		return dryWrite{"clone", "POST", "cloneGlobalTag/" + gt + "/" + dst, rawJSON("null"), []string{gt, dst}}
	default: // move an IOV of another list into this one
		j := (i + 1) % len(lists)
		if iovs := c.iovsOf(gt, types[j]); len(iovs) > 0 {
			v := iovs[w.rng.IntN(len(iovs))]
			if !w.valid(v.S, v.E) { // a legacy row no attach accepts
				return w.randomWrite(gt, types, lists, clones)
			}
			var id int64
			if err := w.db.QueryRow(w.t.Context(), `SELECT i.id FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
				WHERE l.name = $1 AND i.payload_url = $2 ORDER BY i.id LIMIT 1`, lists[j], v.URL).Scan(&id); err == nil {
				return dryWrite{"move", "PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id}, []string{gt}}
			}
		}
		return w.randomWrite(gt, types, lists, clones)
	}
}

// TestDryRunRefusesLikeTheRealCall: every refusal of a dry run has the
// real call's status and body, and dry_run itself is checked.
func TestDryRunRefusesLikeTheRealCall(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	c.mustInsert(gt, pt, uniqz("u"), P{0, 0}, P{0, 10})
	frozen := c.mkGT("unlocked")
	fl := c.listOf(frozen, pt)
	c.setStatus(frozen, "frozen")
	id := c.mkPIOV(uniqz("n"), P{0, 1}, P{0, 2})
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "gt", map[string]any{"name": gt, "status": "unlocked"}},
		{"POST", "gt", map[string]any{"name": uniqz("G")}},
		{"PUT", "piov_attach", map[string]any{"payload_list": fl, "piov_id": id}},
		{"PUT", "piov_attach", map[string]any{"piov_id": id}},
		{"POST", "piov", map[string]any{"payload_url": "x", "checksum": "c", "major_iov": 5, "minor_iov": 0, "major_iov_end": 4, "minor_iov_end": 0}},
		{"POST", "bulk_piov", []map[string]any{{"payload_url": "x", "major_iov": 1, "minor_iov": 0, "payload_list": "nope"}}},
		{"DELETE", "deleteGlobalTag/" + frozen, nil},
		{"DELETE", "deletePayloadType/" + pt, nil},
		{"POST", "cloneGlobalTag/nope/" + uniqz("G"), rawJSON("null")},
		{"PUT", "gt_change_status/" + gt + "/nostatus", rawJSON("null")},
	} {
		dry := c.do(tc.method, withDryRun(tc.path), tc.body)
		real := c.do(tc.method, tc.path, tc.body)
		if dry.Status < 400 || dry.Status != real.Status || string(dry.Body) != string(real.Body) {
			t.Errorf("%s %s:\n dry run %s\n real    %s", tc.method, tc.path, dry, real)
		}
	}
	prefix := uniqz("dref")
	for i, bad := range []string{"yes", "2", "", "TRUE"} {
		r := c.do("POST", "piov?dry_run="+bad, map[string]any{"payload_url": fmt.Sprintf("%s_%d", prefix, i), "checksum": "c", "major_iov": 0, "minor_iov": 0})
		wantErr(t, r, "invalid", "dry_run: Must be 1 (or true) for a dry run, or 0 (or false).", 400)
	}
	c.ok("POST", "piov?dry_run=1", map[string]any{"payload_url": prefix + "_dry", "checksum": "c", "major_iov": 0, "minor_iov": 0})
	r := c.ok("POST", "piov?dry_run=0", map[string]any{"payload_url": prefix + "_real", "checksum": "c", "major_iov": 0, "minor_iov": 0})
	if _, isDry := obj(t, r.JSON)["dry_run"]; isDry {
		t.Errorf("dry_run=0 answered a dry run: %s", r)
	}
	if after := c.countPIOVs(prefix); after != 1 {
		t.Errorf("%d IOVs written, want 1 (only dry_run=0)", after)
	}
}
