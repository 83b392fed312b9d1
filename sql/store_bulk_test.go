package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

func TestStoreBulkCreatePayloadIOVs(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	beam := e.attachedPL("GT", "Beam")
	e.pt("Loose")
	loose := e.pl("Loose") // detached lists take bulk loads too
	size := int64(99)

	n, err := e.store.BulkCreatePayloadIOVs(e.ctx, []condcache.BulkPayloadIOV{
		{PayloadList: beam.Name, PayloadURL: "b1", Start: iovPt(0, 0), End: storeOpen},
		{PayloadList: loose.Name, PayloadURL: "l1", Checksum: "ck", Size: &size, Start: iovPt(-5, 1), End: iovPt(7, 8)},
		{PayloadList: beam.Name, PayloadURL: "b2", Start: iovPt(1_000_000_000, 9_999_999_999), End: storeOpen},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("created = %d, want 3", n)
	}
	rows, err := e.db.Query(e.ctx, `SELECT i.payload_url, i.checksum, coalesce(i.size, -1), i.extra IS NULL,
			format('%s,%s→%s,%s', i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end), i.comb_iov::text,
			l.name, i.created = i.updated AND i.created > now() - interval '1 minute'
		FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id ORDER BY i.id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var url, ck, bounds, comb, list string
		var sz int64
		var noExtra, fresh bool
		if err := rows.Scan(&url, &ck, &sz, &noExtra, &bounds, &comb, &list, &fresh); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s|%s|%d|%v|%s|%s|%s|%v", url, ck, sz, noExtra, bounds, comb, list, fresh))
	}
	want := []string{
		fmt.Sprintf("b1||-1|true|0,0→%d,%d|0.0000000000000000000|%s|true", condcache.MaxIOV, condcache.MaxIOV, beam.Name),
		fmt.Sprintf("l1|ck|99|true|-5,1→7,8|-4.9999999999999999999|%s|true", loose.Name),
		fmt.Sprintf("b2||-1|true|1000000000,9999999999→%d,%d|1000000000.0000000009999999999|%s|true", condcache.MaxIOV, condcache.MaxIOV, beam.Name),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if n, err := e.store.BulkCreatePayloadIOVs(e.ctx, nil); n != 0 || err != nil {
		t.Errorf("empty bulk = %d, %v", n, err)
	}
}

func TestStoreBulkCreatePayloadIOVsAllOrNothing(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	ok := e.attachedPL("GT", "Beam").Name
	e.gt("Locked", condcache.StatusUnlocked)
	locked := e.attachedPL("Locked", "Beam").Name
	e.setStatus("Locked", condcache.StatusLocked)
	e.gt("Frozen", condcache.StatusUnlocked)
	frozen := e.attachedPL("Frozen", "Beam").Name
	e.setStatus("Frozen", condcache.StatusFrozen)

	good := condcache.BulkPayloadIOV{PayloadList: ok, PayloadURL: "good", Start: iovPt(0, 0), End: storeOpen}
	with := func(bad condcache.BulkPayloadIOV) []condcache.BulkPayloadIOV {
		return []condcache.BulkPayloadIOV{good, good, bad, good}
	}
	before := e.snapshot()
	for _, c := range []struct {
		name   string
		bad    condcache.BulkPayloadIOV
		code   condcache.ErrorCode
		detail string
	}{
		{"unknown list", condcache.BulkPayloadIOV{PayloadList: "nosuch", PayloadURL: "x", Start: iovPt(0, 0), End: storeOpen},
			condcache.EInvalid, `element 2 (payload_url x): PayloadList "nosuch" not found.`},
		{"range", condcache.BulkPayloadIOV{PayloadList: ok, PayloadURL: "x", Start: iovPt(0, 5), End: iovPt(0, 5)},
			condcache.EInvalid, "element 2 (payload_url x): x PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: 0 major_iov_end: 0 minor_iov: 5 minor_iov_end: 5"},
		{"locked", condcache.BulkPayloadIOV{PayloadList: locked, PayloadURL: "x", Start: iovPt(0, 0), End: storeOpen},
			condcache.ELocked, fmt.Sprintf("element 2 (payload_url x): Global Tag Locked of PayloadList %s is locked: bulk loads into it are refused.", locked)},
		{"frozen", condcache.BulkPayloadIOV{PayloadList: frozen, PayloadURL: "x", Start: iovPt(0, 0), End: storeOpen},
			condcache.ELocked, fmt.Sprintf("element 2 (payload_url x): Global Tag Frozen of PayloadList %s is frozen: bulk loads into it are refused.", frozen)},
		{"too long", condcache.BulkPayloadIOV{PayloadList: ok, PayloadURL: "x", Checksum: strings.Repeat("c", 256), Start: iovPt(0, 0), End: storeOpen},
			condcache.EInvalid, "element 2 (payload_url x): checksum: Ensure this field has no more than 255 characters."},
	} {
		n, err := e.store.BulkCreatePayloadIOVs(e.ctx, with(c.bad))
		if n != 0 {
			t.Errorf("%s: created %d", c.name, n)
		}
		wantStoreErr(t, err, c.code, c.detail)
	}
	// The first bad element by index is the one reported, whatever is wrong
	// with it.
	_, err := e.store.BulkCreatePayloadIOVs(e.ctx, []condcache.BulkPayloadIOV{good,
		{PayloadList: "nosuch", PayloadURL: "first", Start: iovPt(0, 0), End: storeOpen},
		{PayloadList: ok, PayloadURL: "second", Start: iovPt(0, 5), End: iovPt(0, 1)}})
	wantStoreErr(t, err, condcache.EInvalid, `element 1 (payload_url first): PayloadList "nosuch" not found.`)
	e.unchanged(before)
	if n := e.count(`SELECT count(*) FROM "PayloadIOV"`); n != 0 {
		t.Errorf("%d rows written", n)
	}
}

// TestStoreBulkCreatePayloadIOVsLarge times a 100k-row COPY.
func TestStoreBulkCreatePayloadIOVsLarge(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	lists := []string{e.attachedPL("GT", "A").Name, e.attachedPL("GT", "B").Name}
	const rows = 100_000
	iovs := make([]condcache.BulkPayloadIOV, rows)
	for i := range iovs {
		iovs[i] = condcache.BulkPayloadIOV{PayloadList: lists[i%2], PayloadURL: fmt.Sprintf("/cvmfs/payloads/calib_%07d.root", i),
			Checksum: "md5:0123456789abcdef", Start: iovPt(int64(i/2), int64(i)), End: storeOpen}
	}
	begin := time.Now()
	n, err := e.store.BulkCreatePayloadIOVs(e.ctx, iovs)
	took := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk created %d IOVs in %v: %.0f rows/s", n, took, float64(n)/took.Seconds())
	if n != rows || e.count(`SELECT count(*) FROM "PayloadIOV" WHERE payload_list_id IS NOT NULL`) != rows {
		t.Errorf("created %d, want %d", n, rows)
	}
	if bad := e.count(`SELECT count(*) FROM "PayloadIOV"
		WHERE comb_iov * 10000000000000000000 <> major_iov::numeric * 10000000000000000000 + minor_iov`); bad != 0 {
		t.Errorf("%d rows with a wrong comb_iov", bad)
	}
}
