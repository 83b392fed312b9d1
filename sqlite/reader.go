package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/condcache/condcache"
)

// Reader serves an export file read-only: every read of the compatible API
// (condcache.ReadService) and the v2 range reads (condcache.RangeReader),
// answered as the database answered them when the file was written, for
// the objects the file holds (docs/design.md "Export and offline serving").
// It never writes; the file is opened read-only.
type Reader struct {
	db   *sql.DB
	info Info
	// lists are the GT's lists in lookup order (type name, id).
	lists []listRef
}

type listRef struct {
	id  int64
	typ string
}

var (
	_ condcache.ReadService = (*Reader)(nil)
	_ condcache.RangeReader = (*Reader)(nil)
)

// Info is what an export file says about itself (its metadata table).
type Info struct {
	GlobalTag   string
	GlobalTagID int64
	Status      string
	Generation  int64
	Digest      string
	IOVMode     condcache.IOVMode
	Range       condcache.ExportRange
	IOVs        int64
	Source      string
	Version     string
	ExportedAt  time.Time
	// Meta is every key of the metadata table.
	Meta map[string]string
}

// readerConns is how many reads run at once: SQLite serves concurrent
// readers of one file.
const readerConns = 8

// Open opens the export file at path read-only and checks its format.
func Open(path string) (*Reader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := open(path, url.Values{"mode": {"ro"}, "_pragma": {"query_only(1)"}})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(readerConns)
	r := &Reader{db: db}
	if err := r.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return r, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.db.Close() }

// Info returns the file's metadata.
func (r *Reader) Info() Info { return r.info }

func (r *Reader) load() error {
	ctx := context.Background()
	rows, err := r.db.QueryContext(ctx, `SELECT key, value FROM condcache_export`)
	if err != nil {
		return fmt.Errorf("not a condcache export file: %w", err)
	}
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		m[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if m[keyFormat] != Format {
		return fmt.Errorf("not a condcache export file (format %q)", m[keyFormat])
	}
	if v, err := strconv.Atoi(m[keySchemaVersion]); err != nil || v < 1 || v > SchemaVersion {
		return fmt.Errorf("export schema version %q: this condcache reads versions 1 to %d", m[keySchemaVersion], SchemaVersion)
	}
	in := Info{GlobalTag: m[keyGlobalTag], Status: m[keyStatus], Digest: m[keyDigest], Source: m[keySource], Version: m[keyVersion], Meta: m}
	bad := func(key string) error { return fmt.Errorf("bad metadata %s=%q", key, m[key]) }
	if in.GlobalTagID, err = strconv.ParseInt(m[keyGlobalTagID], 10, 64); err != nil {
		return bad(keyGlobalTagID)
	}
	if in.Generation, err = strconv.ParseInt(m[keyGeneration], 10, 64); err != nil {
		return bad(keyGeneration)
	}
	if in.IOVs, err = strconv.ParseInt(m[keyIOVs], 10, 64); err != nil {
		return bad(keyIOVs)
	}
	if in.IOVMode, err = condcache.ParseIOVMode(m[keyIOVMode]); err != nil {
		return bad(keyIOVMode)
	}
	if in.ExportedAt, err = parseTime(m[keyExportedAt]); err != nil {
		return bad(keyExportedAt)
	}
	from, hasFrom := m[keyFrom]
	to, hasTo := m[keyTo]
	switch {
	case !hasFrom && !hasTo:
		in.Range.Whole = true
	case hasFrom && hasTo:
		if in.Range.From, err = parsePoint(from); err != nil {
			return bad(keyFrom)
		}
		if in.Range.To, err = parsePoint(to); err != nil {
			return bad(keyTo)
		}
	default:
		return errors.New("metadata has one of from and to")
	}
	r.info = in
	lrows, err := r.db.QueryContext(ctx, `SELECT l.id, t.name FROM "PayloadList" l JOIN "PayloadType" t ON t.id = l.payload_type_id
		WHERE l.global_tag_id = ? ORDER BY t.name, l.id`, in.GlobalTagID)
	if err != nil {
		return err
	}
	defer lrows.Close()
	for lrows.Next() {
		var l listRef
		if err := lrows.Scan(&l.id, &l.typ); err != nil {
			return err
		}
		r.lists = append(r.lists, l)
	}
	return lrows.Err()
}

func parsePoint(s string) (condcache.Point, error) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return condcache.Point{}, errors.New("no subrun")
	}
	major, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return condcache.Point{}, err
	}
	minor, err := strconv.ParseInt(b, 10, 64)
	return condcache.Point{Major: major, Minor: minor}, err
}

// Ready reports whether the file can be read.
func (r *Reader) Ready(ctx context.Context) error { return r.db.PingContext(ctx) }

// errOutside refuses a read the file cannot answer as the database would:
// a point or range outside the exported one.
func (r *Reader) errOutside() error {
	in := r.info.Range
	return condcache.Errorf(condcache.ENotFound,
		"This server holds an export of GlobalTag %s from %s to %s only: the database must answer outside it.",
		r.info.GlobalTag, formatPoint(in.From.Major, in.From.Minor), formatPoint(in.To.Major, in.To.Minor))
}

// lookupSQL is the compatible lookup per list (docs/compatibility.md "The
// lookup"), as sql's lookupSQL: the IOV with the greatest comb_iov at or
// before ?1 (ties: highest id), and the first IOV start after it (lowest
// comb_iov, then id), or, past the IOVs of a ranged export, the one the
// database had after the range.
const lookupSQL = `SELECT h.payload_url, h.checksum, h.size, h.major_iov, h.minor_iov, h.major_iov_end, h.minor_iov_end,
	h.extra, h.comb_key, coalesce(n.major_iov, x.major_iov), coalesce(n.minor_iov, x.minor_iov), coalesce(n.comb_key, x.comb_key), q.hit
FROM (SELECT
	(SELECT i.id FROM "PayloadIOV" i WHERE i.payload_list_id = ?2 AND i.comb_key <= ?1
	 ORDER BY i.comb_key DESC, i.id DESC LIMIT 1) AS hit,
	(SELECT i.id FROM "PayloadIOV" i WHERE i.payload_list_id = ?2 AND i.comb_key > ?1
	 ORDER BY i.comb_key ASC, i.id ASC LIMIT 1) AS nxt) q
LEFT JOIN "PayloadIOV" h ON h.id = q.hit
LEFT JOIN "PayloadIOV" n ON n.id = q.nxt
LEFT JOIN condcache_list_next x ON x.payload_list_id = ?2`

// LookupAt implements condcache.ReadService: the file's GT is found at its
// exported generation; any other name is unknown. need is met by
// definition: the file never changes.
func (r *Reader) LookupAt(ctx context.Context, globalTag string, at condcache.Point, _ condcache.Freshness) (condcache.LookupResult, error) {
	res := condcache.LookupResult{Rows: make([]condcache.LookupRow, 0, len(r.lists)), Source: "sqlite"}
	res.Window.From, res.Window.Until = condcache.MinCombKey, condcache.MaxCombKey
	if globalTag != r.info.GlobalTag {
		return res, nil
	}
	if !r.info.Range.Contains(at) {
		return res, r.errOutside()
	}
	res.Found, res.Status, res.Generation = true, r.info.Status, r.info.Generation
	point := at.CombKey()
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, lookupSQL)
	if err != nil {
		return res, err
	}
	defer stmt.Close()
	for _, l := range r.lists {
		var (
			url, cksum, extra    sql.NullString
			size                 sql.NullInt64
			sM, sm, eM, em       sql.NullInt64
			key, nextKey         []byte
			nextMajor, nextMinor sql.NullInt64
			id                   sql.NullInt64
		)
		if err := stmt.QueryRowContext(ctx, point[:], l.id).Scan(&url, &cksum, &size, &sM, &sm, &eM, &em, &extra, &key,
			&nextMajor, &nextMinor, &nextKey, &id); err != nil {
			return res, err
		}
		if nextKey != nil {
			k, err := combKey(nextKey)
			if err != nil {
				return res, err
			}
			if string(k[:]) < string(res.Window.Until[:]) {
				res.Window.Until, res.Window.HasUntil = k, true
				res.Window.UntilPoint = condcache.Point{Major: nextMajor.Int64, Minor: nextMinor.Int64}
			}
		}
		if key == nil {
			continue // nothing at or before the point
		}
		k, err := combKey(key)
		if err != nil {
			return res, err
		}
		row := condcache.LookupRow{PayloadType: l.typ, PayloadURL: url.String, Checksum: cksum.String, Size: nullInt(size),
			Start: condcache.Point{Major: sM.Int64, Minor: sm.Int64}, End: condcache.Point{Major: eM.Int64, Minor: em.Int64}, Revision: nullString(extra),
			ID: id.Int64, ListID: l.id}
		if !res.Window.HasFrom || string(k[:]) > string(res.Window.From[:]) {
			res.Window.From, res.Window.HasFrom, res.Window.FromPoint = k, true, row.Start
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// rangeSQL is, per list, the IOV answering at ?1 and every IOV starting in
// (?1, ?2], as sql's rangeSQL.
const rangeSQL = `SELECT ` + iovCols + ` FROM (
	SELECT * FROM (SELECT i.id FROM "PayloadIOV" i WHERE i.payload_list_id = ?3 AND i.comb_key <= ?1
		ORDER BY i.comb_key DESC, i.id DESC LIMIT 1)
	UNION ALL
	SELECT i.id FROM "PayloadIOV" i WHERE i.payload_list_id = ?3 AND i.comb_key > ?1 AND i.comb_key <= ?2
) r JOIN "PayloadIOV" i ON i.id = r.id LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id`

// RangeAt implements condcache.RangeReader, within the exported range.
func (r *Reader) RangeAt(ctx context.Context, globalTag string, from, to condcache.Point, limit int, _ condcache.Freshness) (condcache.RangeResult, error) {
	res := condcache.RangeResult{Lists: map[string][]condcache.PayloadIOV{}, Source: "sqlite"}
	if globalTag != r.info.GlobalTag {
		return res, nil
	}
	if !r.info.Range.Contains(from) || !r.info.Range.Contains(to) {
		return res, r.errOutside()
	}
	res.Found, res.Status, res.Generation = true, r.info.Status, r.info.Generation
	f, t := from.CombKey(), to.CombKey()
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, rangeSQL)
	if err != nil {
		return res, err
	}
	defer stmt.Close()
	n := 0
	for _, l := range r.lists {
		iovs, err := collect(scanIOV)(stmt.QueryContext(ctx, f[:], t[:], l.id))
		if err != nil {
			return res, err
		}
		if n += len(iovs); n > limit {
			return res, condcache.Errorf(condcache.EInvalid,
				"The range holds more than %d IOVs of GlobalTag %s: narrow it (from, to), or export the GT.", limit, globalTag)
		}
		if len(iovs) == 0 {
			continue
		}
		// Lists come by id within a type: the highest list with IOVs in
		// the range wins, as in the database's range read.
		for i := range iovs {
			// What the database's range read gives: no list or times.
			iovs[i].PayloadListID, iovs[i].PayloadList = nil, nil
			iovs[i].Created, iovs[i].Updated = time.Time{}, time.Time{}
		}
		res.Lists[l.typ] = iovs
	}
	return res, nil
}

func combKey(b []byte) (condcache.CombKey, error) {
	var k condcache.CombKey
	if len(b) != len(k) {
		return k, fmt.Errorf("sqlite: bad comb_key of %d bytes", len(b))
	}
	copy(k[:], b)
	return k, nil
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}
