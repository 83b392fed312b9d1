package condcache

import (
	"context"
	"time"
)

// Exports (docs/design.md "Export and offline serving"): one GT copied into
// a file that an offline reader serves without PostgreSQL or Redis. The
// storage layer reads the GT (ExportSource), the file format writes it
// (ExportSink, Exporter); the HTTP layer only asks an Exporter for a file.

// ExportRange says which IOVs an export holds: every IOV of the GT's lists
// (Whole), or those that can answer in [From, To] (both inclusive): per
// list, the IOV answering at From and every IOV starting in (From, To].
type ExportRange struct {
	Whole    bool
	From, To Point
}

// Contains reports whether an export of r answers at p as the database
// does.
func (r ExportRange) Contains(p Point) bool {
	return r.Whole || !p.Less(r.From) && !r.To.Less(p)
}

// ExportHeader is what an export holds besides the IOVs, read in the
// snapshot the IOVs come from.
type ExportHeader struct {
	GlobalTag  GlobalTag
	Generation int64
	// Statuses are every status, by id (a handful of rows), so that the
	// statuses listing answers as the database does.
	Statuses []GlobalTagStatus
	// Types are the payload types of the GT's lists, by id.
	Types []PayloadType
	// Lists are the lists attached to the GT, by payload type name and
	// then id: the order in which ExportSink.List receives them.
	Lists []PayloadList
	// IOVs is the number of IOVs that follow.
	IOVs int64
}

// IOVStart is where an IOV starts: its start and its stored comb_iov,
// which places it in lookups.
type IOVStart struct {
	Start   Point
	CombIOV string
}

// ExportSink receives one GT's export: Begin, then List for every list of
// the header in its order.
type ExportSink interface {
	// Begin starts the export, or starts it again from nothing when the
	// read is retried on another backend.
	Begin(h ExportHeader) error
	// List receives the exported IOVs of one attached list, by id. In a
	// ranged export next is the first IOV start of the list after the
	// range (nil when there is none), which bounds the answer windows of
	// the range's last points.
	List(list PayloadList, iovs []PayloadIOV, next *IOVStart) error
}

// ExportSource reads GTs for exports. Implemented by sql.Reader.
type ExportSource interface {
	// ExportGlobalTag reads GT name from one snapshot of a backend that
	// holds every write committed before the call, into sink. An unknown
	// GT is ENotFound; more than limit IOVs is EInvalid.
	ExportGlobalTag(ctx context.Context, name string, r ExportRange, limit int64, sink ExportSink) error
}

// ExportMeta is what the exporting server writes about itself into the
// file.
type ExportMeta struct {
	// Source names the server: its advertised URL or name, else its host
	// name.
	Source string
	// IOVMode is the server's CDB_IOV_MODE, which strict answers and
	// ranges depend on.
	IOVMode IOVMode
	// Version is the condcache build that wrote the file.
	Version string
	// Time is when the export was made (zero: now).
	Time time.Time
	// MaxIOVs bounds the IOVs of one export (zero: no bound).
	MaxIOVs int64
}

// ExportInfo describes an export file once written.
type ExportInfo struct {
	GlobalTag  string
	Status     string
	Generation int64
	// Digest is the range digest of the GT over the exported range
	// (docs/design.md "Digests"), what GET gt/{name}/digest answers.
	Digest string
	IOVs   int64
	Lists  int
	// Size is the file's size in bytes.
	Size int64
}

// Exporter writes one GT into an export file at path, a new file.
// Implemented by sqlite.Exporter.
type Exporter interface {
	Export(ctx context.Context, name string, r ExportRange, path string, meta ExportMeta) (ExportInfo, error)
}
