// Package sqlite is the export file of one GT (docs/design.md "Export and
// offline serving"): a SQLite database written from a condcache.ExportSource
// (Exporter), and served read-only as a condcache.ReadService and
// condcache.RangeReader (Reader), so that a reader answers the compatible
// and v2 reads of that GT with no PostgreSQL or Redis. It uses the pure-Go
// driver modernc.org/sqlite and imports no HTTP library.
package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Format and SchemaVersion identify the file: the metadata table holds them
// under the keys "format" and "schema_version"; a reader refuses a file
// without them, or of a later schema version.
const (
	Format        = "condcache-export"
	SchemaVersion = 1
)

// ContentType is the media type of an export file.
const ContentType = "application/vnd.sqlite3"

// schema is the file's tables (docs/design.md "Export and offline
// serving"). The five tables mirror Nopayloaddb's, with their names and
// columns; timestamps are text (timeLayout: UTC, microseconds, so text
// order is time order), comb_iov is the numeric text as PostgreSQL prints
// it, and comb_key the 16-byte position in comb_iov order (condcache.CombKey)
// that lookups sort by. Indexes are built after the rows (indexes).
const schema = `
CREATE TABLE condcache_export (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE "GlobalTagStatus" (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	description TEXT,
	created     TEXT NOT NULL
);
CREATE TABLE "GlobalTag" (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	author      TEXT,
	description TEXT,
	created     TEXT NOT NULL,
	updated     TEXT NOT NULL,
	status_id   INTEGER NOT NULL REFERENCES "GlobalTagStatus" (id)
);
CREATE TABLE "PayloadType" (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	description TEXT,
	created     TEXT NOT NULL
);
CREATE TABLE "PayloadList" (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL,
	description     TEXT,
	created         TEXT NOT NULL,
	updated         TEXT NOT NULL,
	global_tag_id   INTEGER REFERENCES "GlobalTag" (id),
	payload_type_id INTEGER NOT NULL REFERENCES "PayloadType" (id)
);
CREATE TABLE "PayloadIOV" (
	id              INTEGER PRIMARY KEY,
	payload_url     TEXT NOT NULL,
	checksum        TEXT NOT NULL,
	size            INTEGER,
	major_iov       INTEGER NOT NULL,
	minor_iov       INTEGER NOT NULL,
	major_iov_end   INTEGER NOT NULL,
	minor_iov_end   INTEGER NOT NULL,
	extra           TEXT,
	created         TEXT NOT NULL,
	updated         TEXT NOT NULL,
	comb_iov        TEXT,
	payload_list_id INTEGER REFERENCES "PayloadList" (id),
	comb_key        BLOB
);
CREATE TABLE condcache_list_next (
	payload_list_id INTEGER PRIMARY KEY REFERENCES "PayloadList" (id),
	major_iov       INTEGER NOT NULL,
	minor_iov       INTEGER NOT NULL,
	comb_iov        TEXT NOT NULL,
	comb_key        BLOB NOT NULL
);
`

// indexes serve the offline reads: lookups and ranges descend
// condcache_lookup_idx per list, as condcache_lookup_idx does online.
const indexes = `
CREATE INDEX condcache_lookup_idx ON "PayloadIOV" (payload_list_id, comb_key, id);
CREATE INDEX "PayloadList_global_tag_idx" ON "PayloadList" (global_tag_id, payload_type_id, id);
ANALYZE;
`

// Metadata keys of condcache_export.
const (
	keyFormat        = "format"
	keySchemaVersion = "schema_version"
	keyVersion       = "condcache_version"
	keySource        = "source"
	keyExportedAt    = "exported_at"
	keyGlobalTag     = "global_tag"
	keyGlobalTagID   = "global_tag_id"
	keyStatus        = "status"
	keyGeneration    = "generation"
	keyDigest        = "digest"
	keyFrom          = "from"
	keyTo            = "to"
	keyIOVMode       = "iov_mode"
	keyIOVs          = "iov_count"
	keyLists         = "payload_list_count"
)

// timeLayout is how timestamps are stored: UTC with microseconds, the
// precision of PostgreSQL's timestamptz, fixed width so that text order is
// time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return t, fmt.Errorf("sqlite: bad timestamp %q", s)
	}
	return t.UTC(), nil
}

// formatPoint writes a range bound as the v2 parameters take it: "R.m".
func formatPoint(major, minor int64) string { return fmt.Sprintf("%d.%d", major, minor) }

// open opens the database file at path with the given URI parameters
// (e.g. "mode=ro"), on one connection.
func open(path string, params url.Values) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: params.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
