package writer

import (
	"errors"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/drf"
)

// Field rules. The reference validates some bodies with DRF serializers
// (which trim white space and enforce the column limits) and passes other
// values straight to ORM lookups; each rule says which, so a value means
// here what it means there.
var (
	// nameRule: a name the reference's serializer validates before storing
	// it (GT, status and type names, author).
	nameRule = drf.StringRule{Trim: true, MaxLen: condcache.MaxNameLen}
	// textRule: payload_url and checksum of POST piov.
	textRule = drf.StringRule{Trim: true, MaxLen: condcache.MaxTextLen}
	// refRule: the name of an existing row, looked up as sent.
	refRule = drf.StringRule{}
)

// refKey is a body key that the reference reads itself, before its
// serializer validates the body, with the detail it answers when the key is
// absent: "GlobalTagStatus not found." for POST gt without status, say; ""
// when it then fails without a detail (an HTML 500).
type refKey struct{ field, detail string }

// withReferenceDetail returns err, the field errors o recorded, with the
// detail the reference answers the same body with, so that its text is
// kept (docs/compatibility.md "Status codes"): that of the first key of
// keys, in the order the reference reads them, that the body lacks. The
// field arrays, the code and the status stay. When no key is missing, or
// the reference gives no detail, err is returned as it is.
func withReferenceDetail(o *drf.Object, err error, keys ...refKey) error {
	var e *condcache.Error
	if !errors.As(err, &e) {
		return err
	}
	for _, k := range keys {
		if o.Has(k.field) {
			continue
		}
		if k.detail == "" {
			return err
		}
		return &condcache.Error{Code: e.Code, Detail: k.detail, Fields: e.Fields}
	}
	return err
}

// decodeIOV decodes the start and end of a new IOV: major_iov and minor_iov
// are required, and each end defaults independently to MAX when its key is
// absent (docs/compatibility.md "Defaults"). ok is false when any of them is invalid (the error
// is recorded in o).
func decodeIOV(o *drf.Object) (start, end condcache.Point, ok bool) {
	var ok1, ok2, ok3, ok4 bool
	start.Major, ok1 = o.Int("major_iov", drf.IntRule{})
	start.Minor, ok2 = o.Int("minor_iov", drf.IntRule{})
	end.Major, ok3 = intOrMax(o, "major_iov_end")
	end.Minor, ok4 = intOrMax(o, "minor_iov_end")
	return start, end, ok1 && ok2 && ok3 && ok4
}

func intOrMax(o *drf.Object, field string) (int64, bool) {
	if !o.Has(field) {
		return condcache.MaxIOV, true
	}
	return o.Int(field, drf.IntRule{})
}

// decodeSize decodes the optional size of a new IOV (a compatible extension
// of the reference, docs/compatibility.md "Payload IOVs"): absent or null is unknown.
func decodeSize(o *drf.Object) *int64 {
	if v, ok := o.Int("size", drf.IntRule{Optional: true, Null: true, NonNegative: true}); ok {
		return &v
	}
	return nil
}

// errInvalidRange is the reference's range-check refusal of a new IOV
// (docs/compatibility.md "Payload IOVs"), the same wording in both modes, as a 400.
func errInvalidRange(url string, start, end condcache.Point) error {
	return condcache.Errorf(condcache.EInvalid,
		"%s PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: %d major_iov_end: %d minor_iov: %d minor_iov_end: %d",
		url, start.Major, end.Major, start.Minor, end.Minor)
}

// pathInt parses the integer path parameter name (the route pattern
// guarantees -?[0-9]+); a value outside int64 is recorded as an error of
// field.
func pathInt(c *call, name, field string, errs *drf.FieldErrors) int64 {
	v, err := drf.ParseInt([]byte(c.param(name)))
	switch {
	case err == nil:
		return v
	case v > 0:
		errs.Add(field, drf.MsgMaxValue(condcache.MaxIOV))
	case v < 0:
		errs.Add(field, drf.MsgMinValue(-1<<63))
	default:
		errs.Add(field, drf.MsgNotInteger)
	}
	return 0
}
