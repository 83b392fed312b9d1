package sql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/condcache/condcache"
)

// Writes of payload repositories and file records (docs/design.md "Payload
// repositories"), each one transaction. The triggers of migration 010 bump
// the generations of the GTs whose site answers a write changes, so the
// writer marks and publishes them like any write (docs/design.md
// "Freshness contract"), and the audit trail captures every row.
//
// Locks: repository types, then repositories, then IOVs (FOR KEY SHARE, so
// an IOV cannot be deleted under a new record), then file records.

var _ condcache.RepositoryWriter = (*Store)(nil)

// CreateRepositoryType creates a repository type.
func (s *Store) CreateRepositoryType(ctx context.Context, t condcache.RepositoryType) (condcache.RepositoryType, error) {
	schemes := t.Schemes
	if schemes == nil {
		schemes = []string{}
	}
	var out condcache.RepositoryType
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO condcache_repository_type (name, schemes, description)
			VALUES ($1, $2, $3) RETURNING id`, t.Name, schemes, t.Description).Scan(&id)
		if isUniqueViolation(err) {
			return condcache.FieldError(condcache.EConflict, "name", "repository type with this name already exists.")
		} else if err != nil {
			return err
		}
		out, err = scanRepositoryType(tx.QueryRow(ctx, `SELECT `+repoTypeCols+` FROM condcache_repository_type t WHERE t.id = $1`, id))
		return err
	})
	return out, err
}

// DeleteRepositoryType deletes a type no repository has.
func (s *Store) DeleteRepositoryType(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM condcache_repository_type WHERE name = $1 FOR UPDATE`, name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRepositoryTypeNotFound(name)
		} else if err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM condcache_repository WHERE type_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return condcache.Errorf(condcache.EConflict, "RepositoryType %q is the type of %d repositories: change or delete them first.", name, n)
		}
		_, err = tx.Exec(ctx, `DELETE FROM condcache_repository_type WHERE id = $1`, id)
		return err
	})
}

// repositoryType returns the id and schemes of the type named name,
// locked against deletion.
func repositoryType(ctx context.Context, tx pgx.Tx, name string) (int64, []string, error) {
	var id int64
	var schemes []string
	err := tx.QueryRow(ctx, `SELECT id, schemes FROM condcache_repository_type WHERE name = $1 FOR KEY SHARE`, name).Scan(&id, &schemes)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, errRepositoryTypeNotFound(name)
	}
	return id, schemes, err
}

func badBaseURL(err error) error {
	return condcache.FieldError(condcache.EInvalid, "base_url", condcache.Sentence(err))
}

func badPath(err error) error {
	return condcache.FieldError(condcache.EInvalid, "path", condcache.Sentence(err))
}

func errRepositoryExists() error {
	return condcache.FieldError(condcache.EConflict, "name", "repository with this name already exists.")
}

// CreateRepository creates a repository of an existing type, its base URL
// checked against the type's schemes.
func (s *Store) CreateRepository(ctx context.Context, r condcache.NewRepository) (condcache.Repository, error) {
	var out condcache.Repository
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		typeID, schemes, err := repositoryType(ctx, tx, r.Type)
		if err != nil {
			return err
		}
		base, err := condcache.ParseBaseURL(r.BaseURL, schemes)
		if err != nil {
			return badBaseURL(err)
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO condcache_repository (name, type_id, base_url, hostname, site, preference, personal)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			r.Name, typeID, base, r.Hostname, r.Site, r.Preference, r.Personal).Scan(&id)
		if isUniqueViolation(err) {
			return errRepositoryExists()
		} else if err != nil {
			return err
		}
		out, err = repositoryByID(ctx, tx, id)
		return err
	})
	return out, err
}

func repositoryByID(ctx context.Context, tx pgx.Tx, id int64) (condcache.Repository, error) {
	return scanRepository(tx.QueryRow(ctx, `SELECT `+repoCols+` FROM `+repoFrom+` WHERE r.id = $1`, id))
}

// UpdateRepository changes the fields p sets; a base URL (new, or kept
// under a new type) must fit the type's schemes.
func (s *Store) UpdateRepository(ctx context.Context, name string, p condcache.RepositoryPatch) (condcache.Repository, error) {
	var out condcache.Repository
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id, typeID int64
		var base string
		err := tx.QueryRow(ctx, `SELECT id, type_id, base_url FROM condcache_repository WHERE name = $1 FOR UPDATE`, name).
			Scan(&id, &typeID, &base)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRepositoryNotFound(name)
		} else if err != nil {
			return err
		}
		if p == (condcache.RepositoryPatch{}) {
			out, err = repositoryByID(ctx, tx, id)
			return err
		}
		if p.Type != nil || p.BaseURL != nil {
			var schemes []string
			if p.Type != nil {
				typeID, schemes, err = repositoryType(ctx, tx, *p.Type)
			} else {
				err = tx.QueryRow(ctx, `SELECT schemes FROM condcache_repository_type WHERE id = $1`, typeID).Scan(&schemes)
			}
			if err != nil {
				return err
			}
			if p.BaseURL != nil {
				base = *p.BaseURL
			}
			if base, err = condcache.ParseBaseURL(base, schemes); err != nil {
				return badBaseURL(err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE condcache_repository SET name = coalesce($2, name), type_id = $3, base_url = $4,
			hostname = coalesce($5, hostname), site = coalesce($6, site), preference = coalesce($7, preference),
			personal = coalesce($8, personal), updated = now() WHERE id = $1`,
			id, p.Name, typeID, base, p.Hostname, p.Site, p.Preference, p.Personal)
		if isUniqueViolation(err) {
			return errRepositoryExists()
		} else if err != nil {
			return err
		}
		out, err = repositoryByID(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteRepository deletes a repository that holds no file record.
func (s *Store) DeleteRepository(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM condcache_repository WHERE name = $1 FOR UPDATE`, name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRepositoryNotFound(name)
		} else if err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM condcache_file_record WHERE repository_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return condcache.Errorf(condcache.EConflict, "Repository %q holds %d file records: delete them first.", name, n)
		}
		_, err = tx.Exec(ctx, `DELETE FROM condcache_repository WHERE id = $1`, id)
		return err
	})
}

// fileRecordsByID reads the records ids, in the order of ids.
func fileRecordsByID(ctx context.Context, tx pgx.Tx, ids []int64) ([]condcache.FileRecord, error) {
	rows, err := tx.Query(ctx, `SELECT `+fileCols+` FROM `+fileFrom+` WHERE f.id = ANY ($1)`, ids)
	if err != nil {
		return nil, err
	}
	recs, err := collect(rows, func(row pgx.Row) (condcache.FileRecord, error) { return scanFileRecord(row) })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b condcache.FileRecord) int {
		return slices.Index(ids, a.ID) - slices.Index(ids, b.ID)
	})
	return recs, nil
}

// lockIOVs locks the IOVs ids against deletion, and refuses the first one
// (in the order of ids) that does not exist.
func lockIOVs(ctx context.Context, tx pgx.Tx, ids []int64) error {
	rows, err := tx.Query(ctx, `SELECT id FROM "PayloadIOV" WHERE id = ANY ($1) ORDER BY id FOR KEY SHARE`, ids)
	if err != nil {
		return err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return errIOVNotFound(id)
		}
	}
	return nil
}

// CreateFileRecords creates every record or none: each IOV and repository
// must exist, and no repository may hold two records of one IOV or two at
// one path.
func (s *Store) CreateFileRecords(ctx context.Context, recs []condcache.NewFileRecord) ([]condcache.FileRecord, error) {
	var out []condcache.FileRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var names []string
		var iovs []int64
		for _, r := range recs {
			if !slices.Contains(names, r.Repository) {
				names = append(names, r.Repository)
			}
			iovs = append(iovs, r.IOV)
		}
		rows, err := tx.Query(ctx, `SELECT name, id FROM condcache_repository WHERE name = ANY ($1) ORDER BY id FOR KEY SHARE`, names)
		if err != nil {
			return err
		}
		repoID := map[string]int64{}
		var n string
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&n, &id}, func() error { repoID[n] = id; return nil }); err != nil {
			return err
		}
		for _, name := range names {
			if repoID[name] == 0 {
				return errRepositoryNotFound(name)
			}
		}
		if err := lockIOVs(ctx, tx, iovs); err != nil {
			return err
		}
		type pathKey struct {
			repo int64
			path string
		}
		type iovKey struct{ repo, iov int64 }
		paths, copies := map[pathKey]bool{}, map[iovKey]bool{}
		repos := make([]int64, len(recs))
		relPaths := make([]string, len(recs))
		exists := make([]bool, len(recs))
		for i, r := range recs {
			repos[i], relPaths[i], exists[i] = repoID[r.Repository], r.Path, r.Exists == nil || *r.Exists
			if err := condcache.CheckRelativePath(r.Path); err != nil {
				return badPath(err)
			}
			pk, ik := pathKey{repos[i], r.Path}, iovKey{repos[i], r.IOV}
			if paths[pk] {
				return condcache.Errorf(condcache.EConflict, "Two records of this request are at path %q in repository %q.", r.Path, r.Repository)
			}
			if copies[ik] {
				return condcache.Errorf(condcache.EConflict, "Two records of this request are copies of PayloadIOV %d in repository %q.", r.IOV, r.Repository)
			}
			paths[pk], copies[ik] = true, true
		}
		if err := existingRecordConflict(ctx, tx, recs, repos); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `INSERT INTO condcache_file_record (iov_id, repository_id, relative_path, "exists")
			SELECT iov, repo, path, ex FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::boolean[]) WITH ORDINALITY
				AS u(iov, repo, path, ex, n) ORDER BY n
			RETURNING id`, iovs, repos, relPaths, exists)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return recordConflict(err)
		}
		slices.Sort(ids) // nextval follows the insert's order, the request's
		out, err = fileRecordsByID(ctx, tx, ids)
		return err
	})
	return out, err
}

// existingRecordConflict refuses records whose repository already holds
// a record of their IOV or one at their path.
func existingRecordConflict(ctx context.Context, tx pgx.Tx, recs []condcache.NewFileRecord, repos []int64) error {
	iovs := make([]int64, len(recs))
	paths := make([]string, len(recs))
	for i, r := range recs {
		iovs[i], paths[i] = r.IOV, r.Path
	}
	var n int64
	var id, iov int64
	var repo, path string
	err := tx.QueryRow(ctx, `SELECT u.n, f.id, f.iov_id, r.name, f.relative_path
		FROM unnest($1::bigint[], $2::bigint[], $3::text[]) WITH ORDINALITY AS u(iov, repo, path, n)
		JOIN condcache_file_record f ON f.repository_id = u.repo AND (f.iov_id = u.iov OR f.relative_path = u.path)
		JOIN condcache_repository r ON r.id = f.repository_id
		ORDER BY u.n LIMIT 1`, iovs, repos, paths).Scan(&n, &id, &iov, &repo, &path)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	if r := recs[n-1]; iov == r.IOV {
		return condcache.Errorf(condcache.EConflict, "PayloadIOV %d already has a file record in repository %q (id %d, path %q).", iov, repo, id, path)
	}
	return condcache.Errorf(condcache.EConflict, "Repository %q already has a file record at path %q (id %d, of PayloadIOV %d).", repo, path, id, iov)
}

// recordConflict names the constraint a concurrent write made a record
// violate.
func recordConflict(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgUniqueViolation {
		return err
	}
	switch pgErr.ConstraintName {
	case "condcache_file_record_path_key":
		return condcache.Errorf(condcache.EConflict, "The repository already has a file record at this path.")
	case "condcache_file_record_iov_key":
		return condcache.Errorf(condcache.EConflict, "The IOV already has a file record in this repository.")
	}
	return err
}

// UpdateFileRecords applies every patch or none; each record must exist
// and appear once.
func (s *Store) UpdateFileRecords(ctx context.Context, ps []condcache.FileRecordPatch) ([]condcache.FileRecord, error) {
	var out []condcache.FileRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n := len(ps)
		ids := make([]int64, n)
		setPath, setExists, setVerified, setProblem := make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
		paths, problems := make([]*string, n), make([]*string, n)
		exists := make([]bool, n)
		verified := make([]*time.Time, n)
		for i, p := range ps {
			if slices.Contains(ids[:i], p.ID) {
				return condcache.Errorf(condcache.EInvalid, "FileRecord %d is patched twice in this request.", p.ID)
			}
			ids[i] = p.ID
			setPath[i], paths[i] = p.Path != nil, p.Path
			if p.Path != nil {
				if err := condcache.CheckRelativePath(*p.Path); err != nil {
					return badPath(err)
				}
			}
			setExists[i] = p.Exists != nil
			if p.Exists != nil {
				exists[i] = *p.Exists
			}
			setVerified[i], verified[i] = p.SetVerified, p.Verified
			setProblem[i], problems[i] = p.SetProblem, p.Problem
		}
		rows, err := tx.Query(ctx, `SELECT id FROM condcache_file_record WHERE id = ANY ($1) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.Contains(found, id) {
				return errFileRecordNotFound(id)
			}
		}
		if err := movedRecordConflict(ctx, tx, ids, setPath, paths); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE condcache_file_record f SET
				relative_path = CASE WHEN u.set_path THEN u.path ELSE f.relative_path END,
				"exists" = CASE WHEN u.set_exists THEN u.ex ELSE f."exists" END,
				verified = CASE WHEN u.set_verified THEN u.verified ELSE f.verified END,
				problem = CASE WHEN u.set_problem THEN u.problem ELSE f.problem END,
				updated = now()
			FROM unnest($1::bigint[], $2::boolean[], $3::text[], $4::boolean[], $5::boolean[],
				$6::boolean[], $7::timestamptz[], $8::boolean[], $9::text[])
				AS u(id, set_path, path, set_exists, ex, set_verified, verified, set_problem, problem)
			WHERE f.id = u.id`, ids, setPath, paths, setExists, exists, setVerified, verified, setProblem, problems)
		if err != nil {
			return recordConflict(err)
		}
		out, err = fileRecordsByID(ctx, tx, ids)
		return err
	})
	return out, err
}

// movedRecordConflict refuses a new path another record of the repository
// already has.
func movedRecordConflict(ctx context.Context, tx pgx.Tx, ids []int64, setPath []bool, paths []*string) error {
	var moved []int64
	var to []string
	for i := range ids {
		if setPath[i] {
			moved, to = append(moved, ids[i]), append(to, *paths[i])
		}
	}
	if len(moved) == 0 {
		return nil
	}
	var id, other int64
	var repo, path string
	err := tx.QueryRow(ctx, `SELECT u.id, o.id, r.name, o.relative_path
		FROM unnest($1::bigint[], $2::text[]) AS u(id, path)
		JOIN condcache_file_record f ON f.id = u.id
		JOIN condcache_file_record o ON o.repository_id = f.repository_id AND o.relative_path = u.path AND o.id <> ALL ($1)
		JOIN condcache_repository r ON r.id = f.repository_id
		LIMIT 1`, moved, to).Scan(&id, &other, &repo, &path)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return condcache.Errorf(condcache.EConflict, "FileRecord %d cannot move to path %q: repository %q has FileRecord %d there.", id, path, repo, other)
}

// DeleteFileRecord deletes the file record id and returns it.
func (s *Store) DeleteFileRecord(ctx context.Context, id int64) (condcache.FileRecord, error) {
	var out condcache.FileRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		recs, err := fileRecordsByID(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return errFileRecordNotFound(id)
		}
		out = recs[0]
		tag, err := tx.Exec(ctx, `DELETE FROM condcache_file_record WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: file record %d deleted concurrently", errRetry, id)
		}
		return err
	})
	return out, err
}
