package condcache

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
)

// Digests make answers reproducible and comparable (docs/design.md
// "Digests"): sha256 over a canonical form of the resolved payloads, simple
// enough to recompute in any language. The canonical form is a byte string:
//
//	"condcache-digest-v1\n", then for each payload, ordered by type name
//	(bytewise), one record:
//	  field(type) field(url) field(checksum) field(size) field(revision)
//	  num(start.major) num(start.minor) num(end.major) num(end.minor) "\n"
//	where field(s) = <decimal byte length of s> ":" s, a missing size or
//	revision (null) is "-", and num(n) = <decimal n> ";".
//
// A range digest (DigestIntervals) adds the interval bounds: each record
// starts with num(from.major) num(from.minor) and num(until.major)
// num(until.minor), or "-;-;" for no upper bound, and the header is
// "condcache-range-digest-v1\n".
//
// The digest is written "sha256:" followed by 64 lower-case hex digits.

// DigestPrefix starts every digest.
const DigestPrefix = "sha256:"

const (
	digestHeader      = "condcache-digest-v1\n"
	rangeDigestHeader = "condcache-range-digest-v1\n"
)

// DigestRows returns the digest of a lookup answer: rows in any order.
func DigestRows(rows []LookupRow) string {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b LookupRow) int { return cmp.Compare(a.PayloadType, b.PayloadType) })
	b := []byte(digestHeader)
	for _, r := range rows {
		b = appendRecord(b, r.PayloadType, r.PayloadURL, r.Checksum, r.Size, r.Revision, r.Start, r.End)
	}
	return digestOf(b)
}

// TypedInterval is an effective interval of one payload type's list.
type TypedInterval struct {
	PayloadType string
	Interval
}

// DigestIntervals returns the digest of a GT's answers interval by
// interval: intervals in any order (sorted by type, then start).
func DigestIntervals(ivs []TypedInterval) string {
	ivs = slices.Clone(ivs)
	slices.SortStableFunc(ivs, func(a, b TypedInterval) int {
		return cmp.Or(cmp.Compare(a.PayloadType, b.PayloadType), comparePositions(a.From, b.From))
	})
	d := NewRangeDigest()
	for _, iv := range ivs {
		d.Add(iv)
	}
	return d.Sum()
}

// RangeDigest computes DigestIntervals incrementally, without holding the
// intervals: Add them in the order DigestIntervals sorts them (by type
// name bytewise, then start), e.g. one type's ResolveRange pieces after
// another's in name order.
type RangeDigest struct {
	h   hash.Hash
	buf []byte
}

// NewRangeDigest starts a range digest.
func NewRangeDigest() *RangeDigest {
	d := &RangeDigest{h: sha256.New()}
	d.h.Write([]byte(rangeDigestHeader))
	return d
}

// Add adds the record of one interval.
func (d *RangeDigest) Add(iv TypedInterval) {
	b := appendNum(appendNum(d.buf[:0], iv.From.Major), iv.From.Minor)
	if iv.Until == nil {
		b = append(b, "-;-;"...)
	} else {
		b = appendNum(appendNum(b, iv.Until.Major), iv.Until.Minor)
	}
	x := iv.Row
	b = appendRecord(b, iv.PayloadType, x.PayloadURL, x.Checksum, x.Size, x.Extra, x.Start, x.End)
	d.h.Write(b)
	d.buf = b
}

// Sum returns the digest of the records added so far.
func (d *RangeDigest) Sum() string {
	return DigestPrefix + hex.EncodeToString(d.h.Sum(nil))
}

func appendRecord(b []byte, typ, url, checksum string, size *int64, revision *string, start, end Point) []byte {
	b = appendField(b, typ)
	b = appendField(b, url)
	b = appendField(b, checksum)
	if size == nil {
		b = append(b, '-')
	} else {
		b = appendField(b, strconv.FormatInt(*size, 10))
	}
	if revision == nil {
		b = append(b, '-')
	} else {
		b = appendField(b, *revision)
	}
	b = appendNum(appendNum(b, start.Major), start.Minor)
	b = appendNum(appendNum(b, end.Major), end.Minor)
	return append(b, '\n')
}

func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendNum(b []byte, n int64) []byte {
	b = strconv.AppendInt(b, n, 10)
	return append(b, ';')
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return DigestPrefix + hex.EncodeToString(sum[:])
}
