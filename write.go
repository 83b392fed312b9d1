package condcache

import (
	"context"
	"encoding/json"
)

// WriteMeta says who makes a write and how, for the audit trail
// (docs/design.md "Audit trail"). The HTTP layer puts it in the context of
// a WriteService call.
type WriteMeta struct {
	// Actor is the JWT subject, else the client identity, else the peer
	// address.
	Actor string
	// Endpoint is the route name, e.g. "AttachPayloadIOV".
	Endpoint string
	// Request is a bounded JSON summary of the request, with every secret
	// removed (it is stored).
	Request json.RawMessage
}

type writeMetaKey struct{}

// WithWriteMeta returns ctx carrying m.
func WithWriteMeta(ctx context.Context, m WriteMeta) context.Context {
	return context.WithValue(ctx, writeMetaKey{}, m)
}

// WriteMetaFrom returns the WriteMeta of ctx, if any.
func WriteMetaFrom(ctx context.Context) (WriteMeta, bool) {
	m, ok := ctx.Value(writeMetaKey{}).(WriteMeta)
	return m, ok
}

// DryRun receives what a write would do (docs/design.md "Dry runs"). A
// WriteService call whose context carries one runs exactly as it would,
// with the same validation and refusals, then fills it and rolls its
// transaction back instead of committing: nothing is written, no generation
// is bumped and no cache is touched.
type DryRun struct {
	// Changes are the rows the write would add, remove or change.
	Changes []RowChange
	// AnswerChanges are, per GT and payload type, the run ranges whose
	// compatible lookup answer would change, from which payload to which.
	AnswerChanges []AnswerChange
	// Forced are the protected objects the write would delete under
	// force=1 (docs/design.md "Protection").
	Forced []ProtectedObject
}

type dryRunKey struct{}

// WithDryRun returns ctx asking WriteService calls for a dry run into d.
func WithDryRun(ctx context.Context, d *DryRun) context.Context {
	return context.WithValue(ctx, dryRunKey{}, d)
}

// DryRunFrom returns the DryRun of ctx, or nil for a real write.
func DryRunFrom(ctx context.Context) *DryRun {
	d, _ := ctx.Value(dryRunKey{}).(*DryRun)
	return d
}

// Row change actions.
const (
	ActionAdded    = "added"    // a new row (for IOVs: created detached, or loaded in bulk)
	ActionSplit    = "split"    // a new IOV copied from an existing one by an attach
	ActionDeleted  = "deleted"  // a row removed
	ActionAttached = "attached" // an IOV or list attached (or moved) to a list or GT
	ActionDetached = "detached" // an IOV or list detached
	ActionTrimmed  = "trimmed"  // an IOV whose end moved
	ActionMoved    = "moved"    // an IOV whose start moved
	ActionUpdated  = "updated"  // any other change
)

// RowChange is one row a write changes: its table, what happened to it,
// and the row before and after as JSON objects of its columns (Before nil
// for a new row, After nil for a removed one).
type RowChange struct {
	Table  string
	Action string
	ID     int64
	Before json.RawMessage
	After  json.RawMessage
}

// AnswerChange is a run range [From, Until) of one payload type of a GT
// where the compatible lookup's answer changes from Before to After (nil:
// no answer). Until nil means no upper bound.
type AnswerChange struct {
	GlobalTag   string
	PayloadType string
	From        Point
	Until       *Point
	Before      *PayloadIOV
	After       *PayloadIOV
}
