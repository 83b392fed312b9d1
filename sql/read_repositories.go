package sql

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/sql/replica"
)

// Reads of payload repositories and file records (docs/design.md "Payload
// repositories", migration 010). Listings read a backend that holds every
// write committed before the call; SiteCopies reads one as fresh as its
// caller asks, like the lookup.

var _ condcache.RepositoryReader = (*Reader)(nil)

// repoTypeCols selects a repository type (alias t) with the number of its
// repositories.
const repoTypeCols = `t.id, t.name, t.schemes, t.description,
	(SELECT count(*) FROM condcache_repository r WHERE r.type_id = t.id), t.created`

func scanRepositoryType(row pgx.Row) (condcache.RepositoryType, error) {
	var t condcache.RepositoryType
	err := row.Scan(&t.ID, &t.Name, &t.Schemes, &t.Description, &t.Repositories, &t.Created)
	utc(&t.Created)
	if t.Schemes == nil {
		t.Schemes = []string{}
	}
	return t, err
}

// repoCols selects a repository from repoFrom (aliases r, t) with the
// number of its file records.
const (
	repoCols = `r.id, r.name, t.name, r.base_url, r.hostname, r.site, r.preference, r.personal,
		(SELECT count(*) FROM condcache_file_record f WHERE f.repository_id = r.id), r.created, r.updated`
	repoFrom = `condcache_repository r JOIN condcache_repository_type t ON t.id = r.type_id`
)

// scanRepository scans repoCols, then more.
func scanRepository(row pgx.Row, more ...any) (condcache.Repository, error) {
	var r condcache.Repository
	dst := append([]any{&r.ID, &r.Name, &r.Type, &r.BaseURL, &r.Hostname, &r.Site, &r.Preference, &r.Personal,
		&r.FileRecords, &r.Created, &r.Updated}, more...)
	err := row.Scan(dst...)
	utc(&r.Created, &r.Updated)
	return r, err
}

// fileCols selects a file record from fileFrom (aliases f, r, i; i is NULL
// when the IOV is gone) with its repository's base URL.
const (
	fileCols = `f.id, f.iov_id, r.name, r.site, r.base_url, f.relative_path, f."exists", f.verified, f.problem,
		i.payload_url, i.checksum, i.size, f.created, f.updated`
	fileFrom = `condcache_file_record f
		JOIN condcache_repository r ON r.id = f.repository_id
		LEFT JOIN "PayloadIOV" i ON i.id = f.iov_id`
)

// scanFileRecord scans fileCols, then more.
func scanFileRecord(row pgx.Row, more ...any) (condcache.FileRecord, error) {
	var f condcache.FileRecord
	var base string
	dst := append([]any{&f.ID, &f.IOV, &f.Repository, &f.Site, &base, &f.Path, &f.Exists, &f.Verified, &f.Problem,
		&f.PayloadURL, &f.Checksum, &f.Size, &f.Created, &f.Updated}, more...)
	err := row.Scan(dst...)
	utc(&f.Created, &f.Updated)
	if f.Verified != nil {
		v := f.Verified.UTC()
		f.Verified = &v
	}
	f.URL = condcache.FileURL(base, f.Path)
	return f, err
}

func errRepositoryNotFound(name string) error {
	return condcache.Errorf(condcache.ENotFound, "Repository %q not found.", name)
}

func errRepositoryTypeNotFound(name string) error {
	return condcache.Errorf(condcache.ENotFound, "RepositoryType %q not found.", name)
}

func errFileRecordNotFound(id int64) error {
	return condcache.Errorf(condcache.ENotFound, "FileRecord %d not found.", id)
}

func errSiteNotFound(site string) error {
	return condcache.Errorf(condcache.ENotFound, "Site %q not found: no repository has this site label.", site)
}

// RepositoryTypes returns every repository type, by name.
func (r *Reader) RepositoryTypes(ctx context.Context) ([]condcache.RepositoryType, error) {
	return queryAll(ctx, r, scanRepositoryType, `SELECT `+repoTypeCols+` FROM condcache_repository_type t ORDER BY t.name`)
}

// Repositories returns one page of the repositories q selects, by name; a
// type that does not exist is ENotFound.
func (r *Reader) Repositories(ctx context.Context, q condcache.RepositoryQuery) (condcache.Page[condcache.Repository], error) {
	page := condcache.Page[condcache.Repository]{Page: q.Page, PageSize: q.PageSize, Results: []condcache.Repository{}}
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		if q.Type != "" {
			if err := mustExist(ctx, tx, `SELECT EXISTS (SELECT 1 FROM condcache_repository_type WHERE name = $1)`, q.Type,
				errRepositoryTypeNotFound(q.Type)); err != nil {
				return err
			}
		}
		const where = ` WHERE ($1 = '' OR r.site = $1) AND ($2 = '' OR t.name = $2) AND ($3::boolean IS NULL OR r.personal = $3)`
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+repoFrom+where, q.Site, q.Type, q.Personal).Scan(&page.Count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+repoCols+` FROM `+repoFrom+where+` ORDER BY r.name LIMIT $4 OFFSET $5`,
			q.Site, q.Type, q.Personal, q.PageSize, int64(q.Page-1)*int64(q.PageSize))
		if err != nil {
			return err
		}
		page.Results, err = collect(rows, func(row pgx.Row) (condcache.Repository, error) { return scanRepository(row) })
		return err
	})
	page.TotalPages = max(1, (page.Count+int64(q.PageSize)-1)/int64(q.PageSize))
	return page, err
}

// Repository returns the repository named name.
func (r *Reader) Repository(ctx context.Context, name string) (condcache.Repository, error) {
	out, err := queryOne(ctx, r, func(row pgx.Row) (condcache.Repository, error) { return scanRepository(row) },
		`SELECT `+repoCols+` FROM `+repoFrom+` WHERE r.name = $1`, name)
	if condcache.ErrorCodeOf(err) == condcache.ENotFound {
		return out, errRepositoryNotFound(name)
	}
	return out, err
}

// FileRecords returns one page of the file records q selects, by id; a
// repository, site or IOV that does not exist is ENotFound.
func (r *Reader) FileRecords(ctx context.Context, q condcache.FileQuery) (condcache.Page[condcache.FileRecord], error) {
	page := condcache.Page[condcache.FileRecord]{Page: q.Page, PageSize: q.PageSize, Results: []condcache.FileRecord{}}
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		if q.Repository != "" {
			if err := mustExist(ctx, tx, `SELECT EXISTS (SELECT 1 FROM condcache_repository WHERE name = $1)`, q.Repository,
				errRepositoryNotFound(q.Repository)); err != nil {
				return err
			}
		}
		if q.Site != "" {
			if err := mustExist(ctx, tx, `SELECT EXISTS (SELECT 1 FROM condcache_repository WHERE site = $1)`, q.Site,
				errSiteNotFound(q.Site)); err != nil {
				return err
			}
		}
		if q.IOV != 0 {
			if err := mustExist(ctx, tx, `SELECT EXISTS (SELECT 1 FROM "PayloadIOV" WHERE id = $1)`, q.IOV,
				errIOVNotFound(q.IOV)); err != nil {
				return err
			}
		}
		const where = ` WHERE ($1 = '' OR r.name = $1) AND ($2 = '' OR r.site = $2) AND ($3 = 0 OR f.iov_id = $3)
			AND ($4::boolean IS NULL OR f."exists" = $4)`
		args := []any{q.Repository, q.Site, q.IOV, q.Exists}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+fileFrom+where, args...).Scan(&page.Count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+fileCols+` FROM `+fileFrom+where+` ORDER BY f.id LIMIT $5 OFFSET $6`,
			append(args, q.PageSize, int64(q.Page-1)*int64(q.PageSize))...)
		if err != nil {
			return err
		}
		page.Results, err = collect(rows, func(row pgx.Row) (condcache.FileRecord, error) { return scanFileRecord(row) })
		return err
	})
	page.TotalPages = max(1, (page.Count+int64(q.PageSize)-1)/int64(q.PageSize))
	return page, err
}

// FileRecord returns the file record id.
func (r *Reader) FileRecord(ctx context.Context, id int64) (condcache.FileRecord, error) {
	out, err := queryOne(ctx, r, func(row pgx.Row) (condcache.FileRecord, error) { return scanFileRecord(row) },
		`SELECT `+fileCols+` FROM `+fileFrom+` WHERE f.id = $1`, id)
	if condcache.ErrorCodeOf(err) == condcache.ENotFound {
		return out, errFileRecordNotFound(id)
	}
	return out, err
}

// mustExist runs a SELECT EXISTS query and returns notFound when it is
// false.
func mustExist(ctx context.Context, tx pgx.Tx, sql string, arg any, notFound error) error {
	var ok bool
	if err := tx.QueryRow(ctx, sql, arg).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return notFound
	}
	return nil
}

// siteSelectSQL selects, like lookupSQL, the IOV of each list attached to
// GT $1 with the greatest comb_iov ≤ $2 (ties: highest id), ordered by type
// name then list id, with its id.
const siteSelectSQL = `SELECT t.name, i.id, i.payload_url, i.checksum, i.size,
	i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.extra
FROM "GlobalTag" g
JOIN "PayloadList" l ON l.global_tag_id = g.id
JOIN "PayloadType" t ON t.id = l.payload_type_id
CROSS JOIN LATERAL (
	SELECT i.id, i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov,
		i.major_iov_end, i.minor_iov_end, i.extra
	FROM "PayloadIOV" i
	WHERE i.payload_list_id = l.id AND i.comb_iov <= $2::text::numeric
	ORDER BY i.comb_iov DESC NULLS LAST, i.id DESC
	LIMIT 1
) i
WHERE g.name = $1
ORDER BY t.name, l.id`

// siteCopiesSQL reads the copies of IOVs $1 in the repositories of site $2.
const siteCopiesSQL = `SELECT f.iov_id, r.name, r.base_url, f.relative_path, r.personal, r.preference, f."exists"
FROM condcache_file_record f
JOIN condcache_repository r ON r.id = f.repository_id
WHERE f.iov_id = ANY ($1) AND r.site = $2`

// SiteCopies implements condcache.RepositoryReader: in one read-only
// snapshot, whether the site is known, the GT's generation, the IOVs the
// lookup selects (when q.At is set), and the copies of q.IOVs (or of the
// selected IOVs) at the site. A replica whose generation for the GT is
// below need.MinGeneration is skipped (replica.ErrBehind), as in LookupAt.
func (r *Reader) SiteCopies(ctx context.Context, q condcache.SiteQuery, need condcache.Freshness) (condcache.SiteCopies, error) {
	var minLSN int64
	if need.Latest {
		minLSN = r.rt.LatestLSN(ctx)
	}
	var out condcache.SiteCopies
	err := r.rt.DoAt(ctx, minLSN, func(ctx context.Context, db *pgxpool.Pool) error {
		res, err := readSiteCopies(ctx, db, q)
		if err != nil {
			return err
		}
		onPrimary := r.rt.IsPrimary(db)
		if res.Generation < need.MinGeneration && !onPrimary {
			return replica.ErrBehind
		}
		res.Source = "replica"
		if onPrimary {
			res.Source = "primary"
		}
		out = res
		return nil
	})
	return out, err
}

func readSiteCopies(ctx context.Context, db *pgxpool.Pool, q condcache.SiteQuery) (condcache.SiteCopies, error) {
	res := condcache.SiteCopies{Copies: map[int64][]condcache.FileCopy{}}
	err := pgx.BeginTxFunc(ctx, db, snapshotOptions, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0),
			EXISTS (SELECT 1 FROM condcache_repository WHERE site = $2)`, q.GlobalTag, q.Site).Scan(&res.Generation, &res.Known)
		if err != nil || !res.Known {
			return err
		}
		ids := q.IOVs
		if q.At != nil {
			rows, err := tx.Query(ctx, siteSelectSQL, q.GlobalTag, q.At.CombIOV())
			if err != nil {
				return err
			}
			var s condcache.SelectedIOV
			_, err = pgx.ForEachRow(rows, []any{&s.Row.PayloadType, &s.ID, &s.Row.PayloadURL, &s.Row.Checksum, &s.Row.Size,
				&s.Row.Start.Major, &s.Row.Start.Minor, &s.Row.End.Major, &s.Row.End.Minor, &s.Row.Revision}, func() error {
				x := s
				x.Row.Size, x.Row.Revision = copyPtr(s.Row.Size), copyPtr(s.Row.Revision)
				res.Selected = append(res.Selected, x)
				ids = append(ids, s.ID)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, siteCopiesSQL, ids, q.Site)
		if err != nil {
			return err
		}
		var id int64
		var c condcache.FileCopy
		_, err = pgx.ForEachRow(rows, []any{&id, &c.Repository, &c.BaseURL, &c.Path, &c.Personal, &c.Preference, &c.Exists}, func() error {
			res.Copies[id] = append(res.Copies[id], c)
			return nil
		})
		return err
	})
	return res, err
}
