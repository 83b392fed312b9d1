package condcache

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Protection (docs/design.md "Protection"): GTs, payload lists and IOVs
// can be marked protected, after Alyx's protected tags on datasets. A mark
// protects its object and what the object holds (a GT's attached lists and
// their attached IOVs, a list's attached IOVs) from every delete; a frozen
// GT's lists and IOVs are protected implicitly, by its status. A delete
// that would remove a protected object is refused with EProtected, unless
// the request says force=1 and its caller has the admin permission on
// every GT concerned.

// Kinds of protectable objects, as the marks and answers name them (the
// tables' names).
const (
	KindGlobalTag   = "GlobalTag"
	KindPayloadList = "PayloadList"
	KindPayloadIOV  = "PayloadIOV"
)

// MaxProtectNote bounds a mark's note, in characters.
const MaxProtectNote = 1000

// Protection is the protection state of one object: its mark, when it has
// one. GlobalTag is the GT whose admin permission protecting or
// unprotecting it takes: the GT's own name, a list's GT, an IOV's list's
// GT, "" when detached.
type Protection struct {
	Kind        string
	ID          int64
	Name        string // a GT's or a list's name; "" for an IOV
	GlobalTag   string
	PayloadList string // an IOV's list, "" when detached; "" for GTs and lists
	// Protected is whether the object is marked; Note, Actor and Time are
	// the mark's (who marked it last, and when).
	Protected bool
	Note      string
	Actor     string
	Time      time.Time
}

// String names the object as details do: GlobalTag "G", PayloadList "L",
// PayloadIOV 17.
func (p Protection) String() string { return objectName(p.Kind, p.ID, p.Name) }

func objectName(kind string, id int64, name string) string {
	if kind == KindPayloadIOV {
		return kind + " " + strconv.FormatInt(id, 10)
	}
	return kind + " " + strconv.Quote(name)
}

// ProtectedObject is a protected object that a delete would remove: By is
// the nearest mark protecting it (its own, its list's, or its GT's).
type ProtectedObject struct {
	Kind string
	ID   int64
	Name string
	By   Protection
}

// String names the object and, when it is protected through what holds
// it, that mark's object.
func (o ProtectedObject) String() string {
	s := objectName(o.Kind, o.ID, o.Name)
	if o.By.Kind != o.Kind || o.By.ID != o.ID {
		s += " (in protected " + o.By.String() + ")"
	}
	return s
}

// ProtectedError refuses a delete that would remove objs, naming every one.
func ProtectedError(objs []ProtectedObject) *Error {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.String()
	}
	return Errorf(EProtected, "Protected, so nothing was deleted: %s. Only force=1, with the admin permission, deletes protected objects.",
		strings.Join(names, ", "))
}

// ProtectRequest marks (Protected) or unmarks objects, all or nothing.
type ProtectRequest struct {
	GlobalTags   []string
	PayloadLists []string
	IOVs         []int64
	Protected    bool
	Note         string
}

// Len is the number of objects the request names.
func (r ProtectRequest) Len() int { return len(r.GlobalTags) + len(r.PayloadLists) + len(r.IOVs) }

// ProtectionService is the write side of protection, and the deletes that
// exercise it beyond the compatible API. Implemented by sql.Store. Every
// delete of a WriteService and of this one honours protection (docs/design.md
// "Protection"), and ForceFrom.
type ProtectionService interface {
	// Protect marks or unmarks the objects of r, all or nothing, and
	// returns their state afterwards in the request's order (GTs, lists,
	// IOVs). An unknown object is ENotFound naming every unknown one.
	// authorize is called inside the transaction, before anything
	// changes, with the name of each GT concerned (Protection.GlobalTag);
	// its error aborts the call.
	Protect(ctx context.Context, r ProtectRequest, authorize func(globalTag string) error) ([]Protection, error)
	// DeletePayloadIOVs deletes the IOVs ids (attached or detached), all or
	// nothing, with deletePayloadIOV's rules for each one: refused in a
	// frozen GT. authorize is called as for Protect, with each IOV's GT.
	DeletePayloadIOVs(ctx context.Context, ids []int64, authorize func(globalTag string) error) (int64, error)
	// CloneGlobalTagReplacing is CloneGlobalTag that first deletes dst,
	// when it exists, with DeleteGlobalTag's rules, in the same
	// transaction.
	CloneGlobalTagReplacing(ctx context.Context, src, dst string) (GlobalTagSummary, error)
}

// ProtectionQuery selects marks: those of a GT (its own, its attached
// lists' and their attached IOVs'), or with GlobalTag "" every mark; one
// page at a time.
type ProtectionQuery struct {
	GlobalTag string
	Page      int // >= 1
	PageSize  int // in [1, 1000]
}

// ProtectionReport answers a ProtectionQuery. For a GT it also says how
// much of the GT no delete can remove without force: all of it when the GT
// is marked or frozen.
type ProtectionReport struct {
	GlobalTag string
	Status    string
	// Frozen: every list and IOV of the GT is protected by its status.
	Frozen bool
	// The GT's attached lists and their attached IOVs, and how many of
	// them are protected (marked, in a marked list, or in a marked or
	// frozen GT).
	PayloadLists, PayloadIOVs                   int64
	ProtectedPayloadLists, ProtectedPayloadIOVs int64
	Marks                                       Page[Protection]
}

// ProtectionReader reads protection. Implemented by sql.Reader.
type ProtectionReader interface {
	// Protections answers q from a backend holding every write committed
	// before the call; an unknown GT is ENotFound.
	Protections(ctx context.Context, q ProtectionQuery) (ProtectionReport, error)
}

type forceKey struct{}

// WithForce returns ctx asking deletes to remove protected objects too
// (force=1), each after authorize allowed the name of the GT its mark
// concerns (Protection.GlobalTag): the admin permission.
func WithForce(ctx context.Context, authorize func(globalTag string) error) context.Context {
	if authorize == nil {
		panic("condcache: WithForce without an authorize function")
	}
	return context.WithValue(ctx, forceKey{}, authorize)
}

// ForceFrom returns the authorize function of a forced request, and
// whether it is one.
func ForceFrom(ctx context.Context) (func(globalTag string) error, bool) {
	f, ok := ctx.Value(forceKey{}).(func(string) error)
	return f, ok
}
