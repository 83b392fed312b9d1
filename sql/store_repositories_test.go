package sql_test

import (
	"testing"
	"time"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// Payload repositories in the store (docs/design.md "Payload
// repositories"): the triggers of migration 010 bump exactly the GTs whose
// site answers a write changes, the audit trail captures the three tables,
// records of deleted IOVs go with them, and refused writes change nothing.

// generation is GT name's generation (0: none).
func (e *storeEnv) generation(name string) int64 {
	e.t.Helper()
	return e.count(`SELECT coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0)`, name)
}

// repoWorld is two GTs, each with one IOV, and a repository at site BNL.
type repoWorld struct {
	*storeEnv
	a, b       condcache.PayloadIOV // attached to GT A and GT B
	repository condcache.Repository
}

func newRepoWorld(t *testing.T) *repoWorld {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("A", condcache.StatusUnlocked)
	e.gt("B", condcache.StatusUnlocked)
	w := &repoWorld{storeEnv: e}
	w.a = e.attach(e.attachedPL("A", "Beam").Name, "a.root", iovPt(0, 0), condcache.OpenEnd)
	w.b = e.attach(e.attachedPL("B", "Beam").Name, "b.root", iovPt(0, 0), condcache.OpenEnd)
	var err error
	w.repository, err = e.store.CreateRepository(e.ctx, condcache.NewRepository{Name: "bnl", Type: "cvmfs",
		BaseURL: "file:///cvmfs/sphenix", Site: "BNL"})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// bumped runs write and reports which of GTs A and B it bumped.
func (w *repoWorld) bumped(what string, write func() error) (a, b bool) {
	w.t.Helper()
	ga, gb := w.generation("A"), w.generation("B")
	if err := write(); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	return w.generation("A") != ga, w.generation("B") != gb
}

func (w *repoWorld) wantBumps(what string, wantA, wantB bool, write func() error) {
	w.t.Helper()
	if a, b := w.bumped(what, write); a != wantA || b != wantB {
		w.t.Errorf("%s bumped A %v and B %v, want %v and %v", what, a, b, wantA, wantB)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestRepositoryWritesBumpTheirGTs(t *testing.T) {
	t.Parallel()
	w := newRepoWorld(t)
	ctx, st := w.ctx, w.store
	var rec condcache.FileRecord
	w.wantBumps("a record of A's IOV", true, false, func() error {
		recs, err := st.CreateFileRecords(ctx, []condcache.NewFileRecord{{IOV: w.a.ID, Repository: "bnl", Path: "calib/a.root"}})
		if err == nil {
			rec = recs[0]
		}
		return err
	})
	if want := "file:///cvmfs/sphenix/calib/a.root"; rec.URL != want || !rec.Exists || rec.Site != "BNL" {
		t.Errorf("record = %+v, want url %s, exists, site BNL", rec, want)
	}
	now := time.Now()
	w.wantBumps("a verification that found nothing new", false, false, func() error {
		_, err := st.UpdateFileRecords(ctx, []condcache.FileRecordPatch{{ID: rec.ID, SetVerified: true, Verified: &now}})
		return err
	})
	w.wantBumps("a verification that found the file missing", true, false, func() error {
		_, err := st.UpdateFileRecords(ctx, []condcache.FileRecordPatch{{ID: rec.ID, Exists: ptrTo(false),
			SetProblem: true, Problem: ptrTo("missing")}})
		return err
	})
	w.wantBumps("a new path", true, false, func() error {
		_, err := st.UpdateFileRecords(ctx, []condcache.FileRecordPatch{{ID: rec.ID, Path: ptrTo("calib/v2/a.root")}})
		return err
	})
	w.wantBumps("the repository's hostname", false, false, func() error {
		_, err := st.UpdateRepository(ctx, "bnl", condcache.RepositoryPatch{Hostname: ptrTo("cvmfs.bnl.gov")})
		return err
	})
	for name, p := range map[string]condcache.RepositoryPatch{
		"preference": {Preference: ptrTo(int64(5))},
		"personal":   {Personal: ptrTo(true)},
		"base URL":   {BaseURL: ptrTo("file:///cvmfs/sphenix/v2/")},
		"name":       {Name: ptrTo("bnl-cvmfs")},
	} {
		w.wantBumps("the repository's "+name, true, false, func() error {
			r, err := st.UpdateRepository(ctx, w.repository.Name, p)
			if err == nil {
				w.repository = r
			}
			return err
		})
	}
	// A second site that then disappears: every GT, since site=NAME
	// answers cached for it must now be 404.
	w.wantBumps("a repository at a new site", false, false, func() error {
		_, err := st.CreateRepository(ctx, condcache.NewRepository{Name: "laptop", Type: "posix", BaseURL: "file:///home/x", Site: "HOME", Personal: true})
		return err
	})
	w.wantBumps("the last repository of site HOME deleted", true, true, func() error {
		return st.DeleteRepository(ctx, "laptop")
	})
	w.wantBumps("moving the repository to another site", true, true, func() error {
		_, err := st.UpdateRepository(ctx, w.repository.Name, condcache.RepositoryPatch{Site: ptrTo("SDCC")})
		return err
	})
	w.wantBumps("deleting the record", true, false, func() error {
		_, err := st.DeleteFileRecord(ctx, rec.ID)
		return err
	})
}

func TestFileRecordsGoWithTheirIOVs(t *testing.T) {
	t.Parallel()
	w := newRepoWorld(t)
	recs, err := w.store.CreateFileRecords(w.ctx, []condcache.NewFileRecord{
		{IOV: w.a.ID, Repository: "bnl", Path: "a.root"}, {IOV: w.b.ID, Repository: "bnl", Path: "b.root", Exists: ptrTo(false)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].IOV != w.a.ID || recs[1].IOV != w.b.ID || recs[1].Exists {
		t.Fatalf("records = %+v, want a.root then b.root (not existing), in the request's order", recs)
	}
	if err := w.store.DeleteGlobalTag(w.ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if n := w.count(`SELECT count(*) FROM condcache_file_record`); n != 1 {
		t.Errorf("%d records after A (and its IOV) was deleted, want 1", n)
	}
	// Django's flush truncates the Nopayloaddb tables: no foreign key
	// of ours stands in its way, and the records go too.
	if _, err := w.db.Exec(w.ctx, `TRUNCATE "PayloadIOV", "PayloadList", "GlobalTag"`); err != nil {
		t.Fatalf("TRUNCATE of the Nopayloaddb tables: %v", err)
	}
	if n := w.count(`SELECT count(*) FROM condcache_file_record`); n != 0 {
		t.Errorf("%d records after TRUNCATE \"PayloadIOV\", want 0", n)
	}
}

func TestRepositoryWritesRefused(t *testing.T) {
	t.Parallel()
	w := newRepoWorld(t)
	ctx, st := w.ctx, w.store
	if _, err := st.CreateFileRecords(ctx, []condcache.NewFileRecord{{IOV: w.a.ID, Repository: "bnl", Path: "a.root"}}); err != nil {
		t.Fatal(err)
	}
	before := w.repoSnapshot()
	_, err := st.CreateRepository(ctx, condcache.NewRepository{Name: "bnl", Type: "cvmfs", BaseURL: "file:///x", Site: "BNL"})
	wantStoreFieldErr(t, err, condcache.EConflict, "name", "repository with this name already exists.")
	_, err = st.CreateRepository(ctx, condcache.NewRepository{Name: "web", Type: "cvmfs", BaseURL: "https://h/x", Site: "BNL"})
	wantStoreFieldErr(t, err, condcache.EInvalid, "base_url", `Scheme "https" is not one of this repository type's: file.`)
	_, err = st.CreateRepository(ctx, condcache.NewRepository{Name: "web", Type: "ftp", BaseURL: "ftp://h/x", Site: "BNL"})
	wantStoreErr(t, err, condcache.ENotFound, `RepositoryType "ftp" not found.`)
	_, err = st.UpdateRepository(ctx, "bnl", condcache.RepositoryPatch{Type: ptrTo("http")})
	wantStoreFieldErr(t, err, condcache.EInvalid, "base_url", `Scheme "file" is not one of this repository type's: http, https.`)
	err = st.DeleteRepository(ctx, "bnl")
	wantStoreErr(t, err, condcache.EConflict, `Repository "bnl" holds 1 file records: delete them first.`)
	err = st.DeleteRepositoryType(ctx, "cvmfs")
	wantStoreErr(t, err, condcache.EConflict, `RepositoryType "cvmfs" is the type of 1 repositories: change or delete them first.`)
	for _, c := range []struct {
		recs   []condcache.NewFileRecord
		code   condcache.ErrorCode
		detail string
	}{
		{[]condcache.NewFileRecord{{IOV: w.b.ID, Repository: "bnl", Path: "a.root"}}, condcache.EConflict,
			`Repository "bnl" already has a file record at path "a.root" (id 1, of PayloadIOV 1).`},
		{[]condcache.NewFileRecord{{IOV: w.a.ID, Repository: "bnl", Path: "other.root"}}, condcache.EConflict,
			`PayloadIOV 1 already has a file record in repository "bnl" (id 1, path "a.root").`},
		{[]condcache.NewFileRecord{{IOV: w.b.ID, Repository: "bnl", Path: "b.root"}, {IOV: 999, Repository: "bnl", Path: "c.root"}},
			condcache.ENotFound, `PayloadIOV 999 not found.`},
		{[]condcache.NewFileRecord{{IOV: w.b.ID, Repository: "nowhere", Path: "b.root"}}, condcache.ENotFound, `Repository "nowhere" not found.`},
		{[]condcache.NewFileRecord{{IOV: w.b.ID, Repository: "bnl", Path: "b.root"}, {IOV: w.b.ID, Repository: "bnl", Path: "c.root"}},
			condcache.EConflict, `Two records of this request are copies of PayloadIOV 2 in repository "bnl".`},
		{[]condcache.NewFileRecord{{IOV: w.b.ID, Repository: "bnl", Path: "../b.root"}}, condcache.EInvalid,
			`path: Must not hold a .. segment ("../b.root" would leave the repository).`},
	} {
		_, err := st.CreateFileRecords(ctx, c.recs)
		wantStoreErr(t, err, c.code, c.detail)
	}
	_, err = st.UpdateFileRecords(ctx, []condcache.FileRecordPatch{{ID: 1, Exists: ptrTo(false)}, {ID: 7}})
	wantStoreErr(t, err, condcache.ENotFound, `FileRecord 7 not found.`)
	if after := w.repoSnapshot(); after != before {
		t.Errorf("refused writes changed the repositories:\nbefore %s\nafter  %s", before, after)
	}
}

// repoSnapshot is the content of the three tables.
func (e *storeEnv) repoSnapshot() string {
	e.t.Helper()
	var s string
	err := e.db.QueryRow(e.ctx, `SELECT concat_ws(' | ',
		(SELECT string_agg(t::text, ',' ORDER BY id) FROM condcache_repository_type t),
		(SELECT string_agg(r::text, ',' ORDER BY id) FROM condcache_repository r),
		(SELECT string_agg(f::text, ',' ORDER BY id) FROM condcache_file_record f))`).Scan(&s)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestRepositoryAuditAndDryRun(t *testing.T) {
	t.Parallel()
	w := newRepoWorld(t)
	before := w.repoSnapshot()
	genA := w.generation("A")
	var report condcache.DryRun
	dctx := condcache.WithDryRun(w.ctx, &report)
	if _, err := w.store.CreateFileRecords(dctx, []condcache.NewFileRecord{{IOV: w.a.ID, Repository: "bnl", Path: "a.root"}}); err != nil {
		t.Fatal(err)
	}
	if after := w.repoSnapshot(); after != before || w.generation("A") != genA {
		t.Errorf("the dry run wrote: %s → %s, generation %d → %d", before, after, genA, w.generation("A"))
	}
	if len(report.Changes) != 1 || report.Changes[0].Table != "condcache_file_record" || report.Changes[0].Action != condcache.ActionAdded {
		t.Errorf("dry run changes = %+v, want the one record added", report.Changes)
	}

	meta := condcache.WriteMeta{Actor: "jwt:expert", Endpoint: "v2.CreateFileRecords"}
	if _, err := w.store.CreateFileRecords(condcache.WithWriteMeta(w.ctx, meta),
		[]condcache.NewFileRecord{{IOV: w.a.ID, Repository: "bnl", Path: "a.root"}}); err != nil {
		t.Fatal(err)
	}
	rd := cdbsql.NewReader(w.db, nil, cdbsql.ReaderOptions{})
	t.Cleanup(rd.Close)
	page, err := rd.Audit(w.ctx, condcache.AuditQuery{GlobalTag: "A", Actor: "jwt:expert", Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 1 {
		t.Fatalf("audit entries of A by jwt:expert = %+v, want the record's", page.Results)
	}
	e, err := rd.AuditEntry(w.ctx, page.Results[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Changes) != 1 || e.Changes[0].Table != "condcache_file_record" || e.Changes[0].Op != "INSERT" || len(e.Changes[0].New) != 1 ||
		e.Endpoint != "v2.CreateFileRecords" || len(e.Generations) != 1 || e.Generations[0].GlobalTag != "A" {
		t.Errorf("audit entry = %+v, want the inserted record, the endpoint and A's generation", e)
	}
	// The trail of the repository itself (no GT).
	n := w.count(`SELECT count(*) FROM condcache_audit_change WHERE tbl = 'condcache_repository' AND op = 'INSERT'`)
	if n != 1 {
		t.Errorf("%d audit changes inserting repositories, want 1", n)
	}
	// Reconstructing A across the record's entry still works.
	if _, err := rd.GlobalTagAt(w.ctx, "A", time.Now()); err != nil {
		t.Errorf("GlobalTagAt after a file record: %v", err)
	}
}

func TestSiteCopiesSelectLikeTheLookup(t *testing.T) {
	t.Parallel()
	w := newRepoWorld(t)
	list := w.attachedPL("A", "Geom").Name
	g1 := w.attach(list, "g1.root", iovPt(0, 0), condcache.OpenEnd)
	g2 := w.attach(list, "g2.root", iovPt(10, 0), condcache.OpenEnd)
	if _, err := w.store.CreateRepository(w.ctx, condcache.NewRepository{Name: "web", Type: "http", BaseURL: "https://h.example/p",
		Site: "BNL", Preference: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.CreateFileRecords(w.ctx, []condcache.NewFileRecord{
		{IOV: g1.ID, Repository: "bnl", Path: "g 1.root"}, {IOV: g2.ID, Repository: "web", Path: "g2.root"},
		{IOV: g2.ID, Repository: "bnl", Path: "g2.root", Exists: ptrTo(false)}}); err != nil {
		t.Fatal(err)
	}
	rd := cdbsql.NewReader(w.db, nil, cdbsql.ReaderOptions{})
	t.Cleanup(rd.Close)
	at := iovPt(12, 0)
	got, err := rd.SiteCopies(w.ctx, condcache.SiteQuery{GlobalTag: "A", Site: "BNL", At: &at}, condcache.Freshness{})
	if err != nil {
		t.Fatal(err)
	}
	look, err := rd.LookupAt(w.ctx, "A", at, condcache.Freshness{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Known || got.Generation != look.Generation || len(got.Selected) != len(look.Rows) {
		t.Fatalf("SiteCopies = %+v, want known, the lookup's generation %d and its %d rows", got, look.Generation, len(look.Rows))
	}
	for i, s := range got.Selected {
		if s.Row.PayloadType != look.Rows[i].PayloadType || s.Row.PayloadURL != look.Rows[i].PayloadURL {
			t.Errorf("selected %d = %+v, lookup row %+v", i, s, look.Rows[i])
		}
	}
	if c := got.Copies[g2.ID]; len(c) != 2 {
		t.Errorf("copies of g2 = %+v, want two (web, and bnl's missing one)", c)
	} else if best, _ := condcache.ChooseCopy(c); best == nil || best.URL() != "https://h.example/p/g2.root" {
		t.Errorf("best copy of g2 = %+v, want web's", best)
	}
	ids := []int64{g1.ID}
	got, err = rd.SiteCopies(w.ctx, condcache.SiteQuery{GlobalTag: "A", Site: "BNL", IOVs: ids}, condcache.Freshness{})
	if err != nil || len(got.Copies[g1.ID]) != 1 || got.Copies[g1.ID][0].URL() != "file:///cvmfs/sphenix/g%201.root" {
		t.Errorf("SiteCopies(g1) = %+v, %v; want its one copy, the space escaped", got, err)
	}
	got, err = rd.SiteCopies(w.ctx, condcache.SiteQuery{GlobalTag: "A", Site: "CERN", IOVs: ids}, condcache.Freshness{})
	if err != nil || got.Known {
		t.Errorf("SiteCopies at an unknown site = %+v, %v; want not known", got, err)
	}
}
