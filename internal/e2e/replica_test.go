package e2e

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// docs/compatibility.md "The lookup" and docs/design.md "Replicas" (lookups on replicas) and docs/design.md "Freshness contract":
// the reader's answer equals the lookup computed in SQL on the primary, and
// a write acknowledged by the writer is visible to the next lookup.

// sqlLookup is the reference lookup (docs/compatibility.md "The lookup"), ties by highest id.
const sqlLookup = `
SELECT pt.name, i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov,
       i.major_iov_end, i.minor_iov_end, i.extra
FROM "GlobalTag" g
JOIN "PayloadList" l ON l.global_tag_id = g.id
JOIN "PayloadType" pt ON pt.id = l.payload_type_id
CROSS JOIN LATERAL (
    SELECT * FROM "PayloadIOV" x
    WHERE x.payload_list_id = l.id AND x.comb_iov <= $2::text::numeric
    ORDER BY x.comb_iov DESC, x.id DESC
    LIMIT 1) i
WHERE g.name = $1`

type flatRow struct {
	Type, URL, Checksum, Size string
	S, E                      P
	Revision                  string
}

func flatten(rows map[string]Row) map[string]flatRow {
	out := map[string]flatRow{}
	for k, r := range rows {
		out[k] = flatRow{r.Type, r.URL, r.Checksum, fmt.Sprint(r.Size), r.S, r.E, fmt.Sprint(r.Revision)}
	}
	return out
}

func querySQL(t testing.TB, conn *pgx.Conn, gt string, p P) map[string]flatRow {
	t.Helper()
	rows, err := conn.Query(context.Background(), sqlLookup, gt, comb(p.M, p.m))
	if err != nil {
		t.Fatalf("sql lookup: %v", err)
	}
	defer rows.Close()
	out := map[string]flatRow{}
	for rows.Next() {
		var r flatRow
		var size *int64
		var extra *string
		if err := rows.Scan(&r.Type, &r.URL, &r.Checksum, &size, &r.S.M, &r.S.m, &r.E.M, &r.E.m, &extra); err != nil {
			t.Fatal(err)
		}
		r.Size, r.Revision = "<nil>", "<nil>"
		if size != nil {
			r.Size = fmt.Sprint(*size)
		}
		if extra != nil {
			r.Revision = *extra
		}
		out[r.Type] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplicaLookupMatchesPrimary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := shared(t)
	primary, err := pgx.Connect(ctx, stack.Primary.DSN("e2e"))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(context.Background())
	replica, err := pgx.Connect(ctx, stack.Replicas[0].DSN("e2e"))
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close(context.Background())

	gt := c.mkGT("unlocked")
	var all []IOV
	var sized []int64
	for k := range 3 {
		pt := c.mkPT()
		for i := range 8 {
			v := IOV{uniqz("r"), P{int64(k), int64(i * 10)}, P{int64(k), int64(i*10 + 5)}}
			if i == 7 {
				v.E = open
			}
			id := c.mustInsert(gt, pt, v.URL, v.S, v.E)
			all = append(all, v)
			if i%3 == 0 {
				sized = append(sized, id)
			}
		}
		// Bulk duplicates (a tie) at (k, 35).
		pl := c.gtLists(gt)[pt]
		c.ok("POST", "bulk_piov", []any{
			map[string]any{"payload_url": uniqz("t1"), "major_iov": k, "minor_iov": 35, "payload_list": pl},
			map[string]any{"payload_url": uniqz("t2"), "major_iov": k, "minor_iov": 35, "payload_list": pl},
		})
	}
	// size and extra (revision) can only be set in SQL.
	for i, id := range sized {
		if _, err := primary.Exec(ctx, `UPDATE "PayloadIOV" SET size = $1, extra = $2 WHERE id = $3`, 1000+i, fmt.Sprintf("rev%d", i), id); err != nil {
			t.Fatal(err)
		}
	}
	points := probePoints(all)
	for k := range 3 {
		points = append(points, P{int64(k), 35}, P{int64(k), 36})
	}
	compare := func(stage string) {
		t.Helper()
		nonEmpty := 0
		for _, p := range points {
			want := querySQL(t, primary, gt, p)
			got := flatten(c.lookup(gt, p.M, p.m))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: lookup at %v:\n reader  %v\n primary %v", stage, p, got, want)
			}
			if len(want) > 0 {
				nonEmpty++
			}
		}
		if nonEmpty < len(points)/2 {
			t.Errorf("%s: only %d of %d points have rows; the comparison is too weak", stage, nonEmpty, len(points))
		}
	}
	compare("before WaitReplicated")
	if err := stack.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		if a, b := querySQL(t, replica, gt, p), querySQL(t, primary, gt, p); !reflect.DeepEqual(a, b) {
			t.Errorf("replica SQL differs from primary SQL at %v after WaitReplicated", p)
		}
	}
	compare("after WaitReplicated")
	// Sized rows come through with size and revision.
	found := false
	for _, p := range points {
		for _, r := range c.lookup(gt, p.M, p.m) {
			if r.Size != nil && r.Revision != nil {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no lookup row carried size/revision set in SQL")
	}
}

// TestReadYourWrites: right after a write is acknowledged, a lookup through
// the reader reflects it (the previous answer was cached by a lookup).
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	r := shared(t)
	w := newClient(t, servers.WriterURL)
	gt, pt := r.mkGT("unlocked"), r.mkPT()
	pl := r.listOf(gt, pt)
	prev := ""
	for i := range 50 {
		p := P{0, int64(100 * (i + 1))}
		// Warm whatever caches exist with the current answer.
		if got := r.lookupURLs(gt, p.M, p.m+50)[pt]; got != prev {
			t.Fatalf("iteration %d before the write: %q, want %q", i, got, prev)
		}
		u := fmt.Sprintf("%s_%d", uniqz("ryw"), i)
		via := w
		if i%2 == 1 {
			via = r // through the reader's proxy
		}
		id := i64(t, obj(t, via.ok("POST", "piov", map[string]any{"payload_url": u, "checksum": "c", "major_iov": p.M, "minor_iov": p.m}).JSON)["id"])
		via.ok("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
		if got := r.lookupURLs(gt, p.M, p.m+50)[pt]; got != u {
			t.Fatalf("iteration %d: lookup right after the acknowledged write: %q, want %q", i, got, u)
		}
		older := prev
		prev = u
		if i%10 == 9 {
			// A delete is a write too.
			via.ok("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/%d/%d", gt, pt, p.M, p.m), nil)
			if got := r.lookupURLs(gt, p.M, p.m+50)[pt]; got != older {
				t.Fatalf("iteration %d: lookup right after the acknowledged delete: %q, want %q", i, got, older)
			}
			prev = older
		}
	}
	// Status changes and clones are visible at once as well.
	dst := uniqz("rywclone")
	w.ok("POST", "cloneGlobalTag/"+gt+"/"+dst, rawJSON("null"))
	if a, b := r.lookup(gt, 0, 1000000), r.lookup(dst, 0, 1000000); !reflect.DeepEqual(a, b) || len(b) != 1 {
		t.Errorf("clone right after the write: %v vs %v", b, a)
	}
	w.ok("DELETE", "deleteGlobalTag/"+dst, nil)
	if got := r.lookup(dst, 0, 1000000); len(got) != 0 {
		t.Errorf("deleted GT still answers: %v", got)
	}
}

// TestReadYourWritesAllGETs: every GET, not only the lookup, reflects a write
// acknowledged just before. The reference reads everything but the lookup
// from the primary (docs/compatibility.md "Configuration names"), and the C++ client relies on it: its insert
// creates a new list when gtPayloadLists does not show one yet (§7 item 15),
// so a stale answer attaches a second list that replaces the first.
func TestReadYourWritesAllGETs(t *testing.T) {
	t.Parallel()
	r := shared(t)
	w := newClient(t, servers.WriterURL)
	r.ensureStatus("unlocked")
	r.ensureStatus("locked")
	stale := map[string]int{}
	check := func(what string, ok bool) {
		if !ok {
			stale[what]++
		}
	}
	const rounds = 20
	for range rounds {
		gt := uniqz("rywGT")
		w.ok("POST", "gt", map[string]any{"name": gt, "status": "unlocked"})
		check("GET globalTag/<new GT>", r.get("globalTag/"+gt).Status == 200)
		pt := uniqz("rywPT")
		w.ok("POST", "pt", map[string]any{"name": pt})
		check("GET pt (new type)", r.ptNames()[pt])
		m := obj(t, w.ok("POST", "pl", map[string]any{"payload_type": pt}).JSON)
		pl, plID := str(t, m["name"]), i64(t, m["id"])
		check("GET pl/<new id>", r.get(fmt.Sprintf("pl/%d", plID)).Status == 200)
		w.ok("PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": pl})
		check("GET gtPayloadLists after pl_attach", r.gtLists(gt)[pt] == pl)
		id := i64(t, obj(t, w.ok("POST", "piov", map[string]any{"payload_url": uniqz("u"), "checksum": "c", "major_iov": 0, "minor_iov": 0}).JSON)["id"])
		check("GET piov/<new id>", r.get(fmt.Sprintf("piov/%d", id)).Status == 200)
		w.ok("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
		check("GET globalTag after piov_attach", len(r.iovsOf(gt, pt)) == 1)
		w.ok("PUT", "gt_change_status/"+gt+"/locked", rawJSON("null"))
		light, _ := r.get("globalTag/" + gt + "?light").JSON.(map[string]any)
		check("GET globalTag?light after change-status", light["status"] == "locked")
		w.ok("PUT", "gt_change_status/"+gt+"/unlocked", rawJSON("null"))
		w.ok("DELETE", "deleteGlobalTag/"+gt, nil)
		check("GET globalTag after delete", r.get("globalTag/"+gt).Status == 404)
	}
	for what, n := range stale {
		t.Errorf("%s: stale in %d of %d rounds", what, n, rounds)
	}
}
