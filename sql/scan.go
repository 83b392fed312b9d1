package sql

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// Column lists and scanners shared by the read queries. Each *Cols constant
// selects one domain type from the aliases its *From clause defines, in the
// order its scanner expects; a query may select further columns after them
// and pass their destinations as "more". The write side (store*.go) may
// reuse them: they depend on nothing but the schema.
//
// Timestamps are normalised to UTC (pgx hands timestamptz back in the
// process's local zone); comb_iov is selected as text, so the 19 fractional
// digits reach JSON exactly as stored.

// gtCols selects a GT with its status from gtFrom (aliases g, s).
const (
	gtCols = `g.id, g.name, g.author, g.description, g.created, g.updated,
		s.id, s.name, s.description, s.created`
	gtFrom = `"GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id`
)

// scanGT scans gtCols, then more.
func scanGT(row pgx.Row, more ...any) (condcache.GlobalTag, error) {
	var g condcache.GlobalTag
	dst := append([]any{&g.ID, &g.Name, &g.Author, &g.Description, &g.Created, &g.Updated,
		&g.Status.ID, &g.Status.Name, &g.Status.Description, &g.Status.Created}, more...)
	err := row.Scan(dst...)
	utc(&g.Created, &g.Updated, &g.Status.Created)
	return g, err
}

// listCols selects a payload list with its GT and type names from listFrom
// (aliases l, g, t; g is NULL for a detached list).
const (
	listCols = `l.id, l.name, l.description, l.global_tag_id, g.name,
		l.payload_type_id, t.name, l.created, l.updated`
	listFrom = `"PayloadList" l
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id`
)

// scanList scans listCols, then more.
func scanList(row pgx.Row, more ...any) (condcache.PayloadList, error) {
	var l condcache.PayloadList
	dst := append([]any{&l.ID, &l.Name, &l.Description, &l.GlobalTagID, &l.GlobalTag,
		&l.PayloadTypeID, &l.PayloadType, &l.Created, &l.Updated}, more...)
	err := row.Scan(dst...)
	utc(&l.Created, &l.Updated)
	return l, err
}

// iovCols selects a payload IOV with its list name from iovFrom (aliases i,
// l; l is NULL for a detached IOV).
const (
	iovCols = `i.id, i.payload_url, i.checksum, i.size,
		i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.comb_iov::text,
		i.extra, i.payload_list_id, l.name, i.created, i.updated`
	iovFrom = `"PayloadIOV" i LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id`
)

// scanIOV scans iovCols, then more.
func scanIOV(row pgx.Row, more ...any) (condcache.PayloadIOV, error) {
	var v condcache.PayloadIOV
	dst := append([]any{&v.ID, &v.PayloadURL, &v.Checksum, &v.Size,
		&v.Start.Major, &v.Start.Minor, &v.End.Major, &v.End.Minor, &v.CombIOV,
		&v.Extra, &v.PayloadListID, &v.PayloadList, &v.Created, &v.Updated}, more...)
	err := row.Scan(dst...)
	utc(&v.Created, &v.Updated)
	return v, err
}

// statusCols selects a GT status (alias s).
const statusCols = `s.id, s.name, s.description, s.created`

func scanStatus(row pgx.Row) (condcache.GlobalTagStatus, error) {
	var s condcache.GlobalTagStatus
	err := row.Scan(&s.ID, &s.Name, &s.Description, &s.Created)
	utc(&s.Created)
	return s, err
}

// typeCols selects a payload type (alias t).
const typeCols = `t.id, t.name, t.description, t.created`

func scanType(row pgx.Row) (condcache.PayloadType, error) {
	var t condcache.PayloadType
	err := row.Scan(&t.ID, &t.Name, &t.Description, &t.Created)
	utc(&t.Created)
	return t, err
}

func utc(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}

// collect reads every row of rows with scan (one of the scanners above, or a
// closure around one) and closes rows. The result is never nil, so an empty
// answer encodes as [] rather than null.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if out == nil && err == nil {
		out = []T{}
	}
	return out, err
}
