package condcache

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one acknowledged write (docs/design.md "Audit trail"): who,
// when, through which endpoint, what it changed, and the GT generations it
// produced. Writes made with plain SQL behind the writer's back have actor
// "sql" and no endpoint.
type AuditEntry struct {
	ID       int64
	Time     time.Time // when the transaction committed (close to it)
	Actor    string    // JWT subject, else client identity, else peer address; "sql"
	Endpoint string    // route name, e.g. "AttachPayloadIOV"; "" for plain SQL
	Request  json.RawMessage
	// Changes are the rows the write changed, table by table.
	Changes []AuditChange
	// Generations are the GTs whose answers the write changed, with the
	// generation each reached.
	Generations []Invalidation
	// Forced are the protected objects the write deleted under force=1
	// (docs/design.md "Protection"); none for other writes.
	Forced []ProtectedObject
}

// AuditChange is what one statement did to one table: how many rows, and
// the rows before (Old) and after (New) as JSON objects of their columns
// (left out of listings, which give only the count).
type AuditChange struct {
	Table string
	Op    string // INSERT, UPDATE, DELETE, TRUNCATE
	Rows  int64
	Old   []json.RawMessage
	New   []json.RawMessage
}

// AuditQuery selects entries, newest first, one page at a time (paged like
// the browse mode of the compatible API).
type AuditQuery struct {
	GlobalTag   string    // entries that changed this GT ("" = any)
	PayloadType string    // entries that changed a list of this type
	Actor       string    // exact actor
	Since       time.Time // zero: no lower bound (inclusive)
	Until       time.Time // zero: no upper bound (exclusive)
	Page        int       // >= 1
	PageSize    int       // in [1, 1000]
}

// AuditReader reads the audit trail. Implemented by sql.Reader.
type AuditReader interface {
	// Audit returns one page of entries, newest first, with their changes
	// summarised (no rows).
	Audit(ctx context.Context, q AuditQuery) (Page[AuditEntry], error)
	// AuditEntry returns one entry with every row it changed.
	AuditEntry(ctx context.Context, id int64) (AuditEntry, error)
	// GlobalTagAt reconstructs what GT name held at time at; ENotFound
	// when it did not exist then.
	GlobalTagAt(ctx context.Context, name string, at time.Time) (GTState, error)
	// GenerationTime returns when GT name reached generation; ENotFound
	// when the trail does not hold it.
	GenerationTime(ctx context.Context, name string, generation int64) (time.Time, error)
}

// GTState is what a GT held at some time, reconstructed from the audit
// trail: its status, its generation then (0 when the GT predates the
// trail), and for each payload type the IOVs attached to its list.
type GTState struct {
	Status     string
	Generation int64
	Lists      map[string][]PayloadIOV
}
