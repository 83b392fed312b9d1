package condcache

import "context"

// WriteService changes the database. Every method is one transaction: on error
// nothing is written. Implemented by sql.Store on the primary.
type WriteService interface {
	CreateGlobalTagStatus(ctx context.Context, name string) (GlobalTagStatus, error)

	// CreateGlobalTag creates a GT with an existing status (by name).
	CreateGlobalTag(ctx context.Context, name, status string, author *string) (GlobalTag, error)
	// CloneGlobalTag deep-copies src (attached lists and their attached IOVs)
	// into a new unlocked GT dst.
	CloneGlobalTag(ctx context.Context, src, dst string) (GlobalTagSummary, error)
	ChangeGlobalTagStatus(ctx context.Context, name, status string) (GlobalTag, error)
	// DeleteGlobalTag deletes an unlocked GT with its lists and their IOVs.
	DeleteGlobalTag(ctx context.Context, name string) error

	CreatePayloadType(ctx context.Context, name string) (PayloadType, error)
	DeletePayloadType(ctx context.Context, name string) error

	// CreatePayloadList creates a detached list named <type>_<sequence id>.
	CreatePayloadList(ctx context.Context, payloadType string) (PayloadList, error)
	// AttachPayloadList attaches a list to a GT, detaching its same-type list.
	AttachPayloadList(ctx context.Context, globalTag, payloadList string) (PayloadList, error)
	DeletePayloadList(ctx context.Context, name string) error

	// CreatePayloadIOV creates a detached IOV.
	CreatePayloadIOV(ctx context.Context, iov NewPayloadIOV) (PayloadIOV, error)
	// BulkCreatePayloadIOVs creates attached IOVs (COPY); all or nothing.
	BulkCreatePayloadIOVs(ctx context.Context, iovs []BulkPayloadIOV) (int64, error)
	// AttachPayloadIOV attaches IOV id to a list with the overlap rules of the
	// list's GT status. authorize is called inside the transaction with the
	// name of the list's GT ("" when detached) before anything changes; a
	// non-nil error aborts the attach and is returned.
	AttachPayloadIOV(ctx context.Context, payloadList string, iovID int64, authorize func(globalTag string) error) (PayloadIOV, error)
	// DeletePayloadIOV deletes the one IOV with exactly this start and end in
	// the GT's list of this type, and returns it.
	DeletePayloadIOV(ctx context.Context, globalTag, payloadType string, start, end Point) (PayloadIOV, error)
}

// ReadService answers every read. Implemented by sql.Reader over replicas with
// fallback to the primary.
type ReadService interface {
	// LookupAt returns, for every list attached to the GT, the IOV with the
	// greatest comb_iov ≤ at (ties: highest id), with the GT's generation,
	// status and answer window, from a backend as fresh as need asks.
	// Unknown GT: no rows, no error.
	LookupAt(ctx context.Context, globalTag string, at Point, need Freshness) (LookupResult, error)

	GlobalTagStatuses(ctx context.Context) ([]GlobalTagStatus, error)

	GlobalTags(ctx context.Context) ([]GlobalTagFull, error)
	GlobalTagByID(ctx context.Context, id int64) (GlobalTagFull, error)
	GlobalTagByName(ctx context.Context, name string) (GlobalTagFull, error)
	GlobalTagSummaryByName(ctx context.Context, name string) (GlobalTagSummary, error)
	GlobalTagSummaries(ctx context.Context) ([]GlobalTagSummary, error)
	BrowseGlobalTags(ctx context.Context, q BrowseQuery) (Page[GlobalTagSummary], error)
	// GlobalTagPayloadLists returns the (type, list) pairs of the lists
	// attached to the GT, one per type (highest list id wins), ordered by
	// type; an unknown GT gives none and no error.
	GlobalTagPayloadLists(ctx context.Context, name string) ([]TypeList, error)

	PayloadTypes(ctx context.Context) ([]PayloadType, error)
	BrowsePayloadTypes(ctx context.Context, q BrowseQuery) (Page[PayloadType], error)

	PayloadLists(ctx context.Context) ([]PayloadListFull, error)
	PayloadListByID(ctx context.Context, id int64) (PayloadList, error)
	PayloadListByName(ctx context.Context, name string) (PayloadListSummary, error)
	BrowsePayloadLists(ctx context.Context, q BrowseQuery) (Page[PayloadListSummary], error)

	PayloadIOVs(ctx context.Context) ([]PayloadIOV, error)
	PayloadIOVByID(ctx context.Context, id int64) (PayloadIOV, error)
	BrowsePayloadIOVs(ctx context.Context, q BrowseQuery) (Page[PayloadIOVBrowse], error)

	// Ready reports whether at least one backend can answer.
	Ready(ctx context.Context) error
}

// LookupResult is a lookup answer with what caches need to keep it.
type LookupResult struct {
	Rows []LookupRow
	// Found is false for an unknown GT (then Rows is empty).
	Found bool
	// Status is the GT's status name ("locked", "frozen", ...).
	Status string
	// Generation is the GT's generation in the snapshot the rows come from
	// (0 when the database has none for this name).
	Generation int64
	Window     Window
	// Digest is DigestRows(Rows), set by whoever encodes the answer
	// (docs/design.md "Digests").
	Digest string
	// Notices are the notices that can apply to the GT's answers
	// (NoticeReader.CandidateNotices), read with the rows.
	Notices []Notice
	// NoticeSummary is NoticeSummary of the notices that apply to this
	// answer, set by whoever encodes it.
	NoticeSummary string
	// Source is the backend that answered: "primary" or "replica".
	Source string
}

// Freshness says how fresh a read must be.
type Freshness struct {
	// MinGeneration: a backend whose generation for the GT is lower is
	// behind a write the caller knows of, and is skipped.
	MinGeneration int64
	// Latest: the read must see every write committed before the call,
	// whatever the caller knows (used when the cache cannot tell).
	Latest bool
}

// BrowseQuery is the browse mode of the list endpoints (docs/compatibility.md "Browse mode"), already
// normalised by the HTTP layer: Page ≥ 1, PageSize in [1, 1000], Search
// trimmed, Sort a whitelisted key of the endpoint ("" = default), Filters the
// endpoint's non-empty exact-match filters.
type BrowseQuery struct {
	Page     int
	PageSize int
	Search   string
	Sort     string
	Desc     bool
	Filters  map[string]string
}

// Page is one page of a browse result.
type Page[T any] struct {
	Count      int64
	Page       int
	PageSize   int
	TotalPages int64
	Results    []T
}

// RangeResult is what a GT's lists hold over a range of points: for each
// payload type, the IOVs that can answer there (the one answering at the
// start, and every one starting inside), with the GT's generation and
// status from the same snapshot.
type RangeResult struct {
	Found      bool
	Status     string
	Generation int64
	// Lists maps each payload type to its list's IOVs in the range (the
	// list with the highest id when a type has several).
	Lists map[string][]PayloadIOV
	// Source is the backend that answered: "primary" or "replica".
	Source string
}

// RangeReader reads GTs over ranges of points (the v2 range, digest and
// diff). Implemented by sql.Reader.
type RangeReader interface {
	// RangeAt returns what GT globalTag holds over [from, to], from a
	// backend at least as fresh as need asks. More than limit IOVs is
	// EInvalid (the caller narrows the range).
	RangeAt(ctx context.Context, globalTag string, from, to Point, limit int, need Freshness) (RangeResult, error)
}
