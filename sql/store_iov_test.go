package sql_test

import (
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

func TestStoreCreatePayloadIOV(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	size := int64(1234)
	v, err := e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{
		PayloadURL: "calibration_data_v1.2.root", Checksum: "sha256:abcd", Size: &size,
		Start: iovPt(0, 1000), End: iovPt(0, 2000),
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == 0 || v.PayloadURL != "calibration_data_v1.2.root" || v.Checksum != "sha256:abcd" ||
		v.Size == nil || *v.Size != size || v.Start != iovPt(0, 1000) || v.End != iovPt(0, 2000) ||
		v.CombIOV == nil || *v.CombIOV != "0.0000000000000001000" || v.PayloadListID != nil || v.PayloadList != nil ||
		v.Extra != nil || time.Since(v.Created) > time.Minute {
		t.Errorf("iov = %+v", v)
	}
	var comb string
	var list *int64
	if err := e.db.QueryRow(e.ctx, `SELECT comb_iov::text, payload_list_id FROM "PayloadIOV" WHERE id = $1`, v.ID).
		Scan(&comb, &list); err != nil || comb != "0.0000000000000001000" || list != nil {
		t.Errorf("row: comb %q list %v err %v", comb, list, err)
	}

	// comb_iov is exact, also where the reference rounds (|major| ≥ 10^9)
	// and for negative values.
	for _, c := range []struct {
		start condcache.Point
		want  string
	}{
		{iovPt(-5, 1), "-4.9999999999999999999"},
		{iovPt(1_000_000_000, 9_999_999_999), "1000000000.0000000009999999999"},
		{iovPt(condcache.MaxIOV-1, condcache.MaxIOV), "9223372036854775806.9223372036854775807"},
	} {
		v := e.iov("u", c.start, storeOpen)
		if v.CombIOV == nil || *v.CombIOV != c.want {
			t.Errorf("comb_iov of %v = %v, want %s", c.start, v.CombIOV, c.want)
		}
	}

	before := e.snapshot()
	_, err = e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: "u.root", Checksum: "c", Start: iovPt(0, 100), End: iovPt(0, 100)})
	wantStoreErr(t, err, condcache.EInvalid, "u.root PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: 0 major_iov_end: 0 minor_iov: 100 minor_iov_end: 100")
	_, err = e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: "u.root", Checksum: "c", Start: iovPt(5, 100), End: iovPt(4, 200)})
	wantStoreErr(t, err, condcache.EInvalid, "u.root PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: 5 major_iov_end: 4 minor_iov: 100 minor_iov_end: 200")
	_, err = e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: strings.Repeat("u", 256), Checksum: "c", Start: iovPt(0, 0), End: storeOpen})
	wantStoreFieldErr(t, err, condcache.EInvalid, "payload_url", "Ensure this field has no more than 255 characters.")
	_, err = e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: "u", Checksum: strings.Repeat("c", 256), Start: iovPt(0, 0), End: storeOpen})
	wantStoreFieldErr(t, err, condcache.EInvalid, "checksum", "Ensure this field has no more than 255 characters.")
	e.unchanged(before)
}

func TestStoreCreatePayloadIOVDiscrete(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeDiscrete)
	if _, err := e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: "u", Checksum: "c", Start: iovPt(0, 100), End: iovPt(0, 100)}); err != nil {
		t.Errorf("end == start in discrete mode: %v", err)
	}
	before := e.snapshot()
	_, err := e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: "u", Checksum: "c", Start: iovPt(0, 100), End: iovPt(0, 99)})
	wantStoreErr(t, err, condcache.EInvalid, "u PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: 0 major_iov_end: 0 minor_iov: 100 minor_iov_end: 99")
	e.unchanged(before)
}

func TestStoreDeletePayloadIOV(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	beam := e.attachedPL("GT", "Beam")
	a := e.attach(beam.Name, "a", iovPt(0, 0), iovPt(0, 10))
	e.attach(beam.Name, "b", iovPt(0, 10), storeOpen)
	e.iov("detached", iovPt(0, 20), storeOpen)

	got, err := e.store.DeletePayloadIOV(e.ctx, "GT", "Beam", iovPt(0, 0), iovPt(0, 10))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.PayloadURL != "a" || got.PayloadList == nil || *got.PayloadList != beam.Name {
		t.Errorf("deleted = %+v", got)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE id = $1`, a.ID); n != 0 {
		t.Errorf("row still there")
	}
	e.wantSpans(beam.Name, storeSpan{"b", iovPt(0, 10), storeOpen})

	// Two IOVs with the same bounds (a bulk load can make them): refused.
	if _, err := e.store.BulkCreatePayloadIOVs(e.ctx, []condcache.BulkPayloadIOV{
		{PayloadList: beam.Name, PayloadURL: "d1", Start: iovPt(1, 0), End: storeOpen},
		{PayloadList: beam.Name, PayloadURL: "d2", Start: iovPt(1, 0), End: storeOpen},
	}); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	const missing = "PayloadIOV with given parameters doesn't exist"
	for _, c := range []struct {
		gt, pt     string
		start, end condcache.Point
	}{
		{"GT", "Beam", iovPt(0, 10), iovPt(0, 11)}, // wrong end
		{"GT", "Beam", iovPt(0, 11), storeOpen},    // wrong start
		{"GT", "CEMC", iovPt(0, 10), storeOpen},    // wrong type
		{"nosuch", "Beam", iovPt(0, 10), storeOpen},
		{"GT", "Beam", iovPt(0, 20), storeOpen}, // detached
	} {
		_, err := e.store.DeletePayloadIOV(e.ctx, c.gt, c.pt, c.start, c.end)
		wantStoreErr(t, err, condcache.ENotFound, missing)
	}
	_, err = e.store.DeletePayloadIOV(e.ctx, "GT", "Beam", iovPt(1, 0), storeOpen)
	wantStoreErr(t, err, condcache.EConflict, "PayloadIOV with given parameters is not unique: 2 PayloadIOVs match; none deleted.")
	e.unchanged(before)
	e.setStatus("GT", condcache.StatusFrozen)
	before = e.snapshot()
	_, err = e.store.DeletePayloadIOV(e.ctx, "GT", "Beam", iovPt(0, 10), storeOpen)
	wantStoreErr(t, err, condcache.ELocked, "Global Tag is frozen.")
	e.unchanged(before)

	// Locked GTs allow it.
	e.setStatus("GT", condcache.StatusLocked)
	if _, err := e.store.DeletePayloadIOV(e.ctx, "GT", "Beam", iovPt(0, 10), storeOpen); err != nil {
		t.Errorf("delete in locked GT: %v", err)
	}
}
