package cache

import (
	"encoding/binary"
	"errors"

	"github.com/condcache/condcache"
)

// An entry's value: version byte, status, digest and notice summary (each a
// uvarint length and the bytes), the rows' (IOV id, list id) pairs (a
// uvarint count, then two varints each), a flags byte (1: window has a
// start, 2: window has an end), the window's bounding IOV starts as four
// varints, then the encoded answer. Entries of another version (written
// before an upgrade) are misses, replaced by the next fill.

const entryVersion = 3

func encodeEntry(res *condcache.LookupResult, body []byte) []byte {
	b := make([]byte, 0, len(body)+len(res.Status)+len(res.Digest)+48)
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, uint64(len(res.Status)))
	b = append(b, res.Status...)
	b = binary.AppendUvarint(b, uint64(len(res.Digest)))
	b = append(b, res.Digest...)
	b = binary.AppendUvarint(b, uint64(len(res.NoticeSummary)))
	b = append(b, res.NoticeSummary...)
	b = binary.AppendUvarint(b, uint64(len(res.Rows)))
	for _, r := range res.Rows {
		b = binary.AppendVarint(b, r.ID)
		b = binary.AppendVarint(b, r.ListID)
	}
	var flags byte
	if res.Window.HasFrom {
		flags |= 1
	}
	if res.Window.HasUntil {
		flags |= 2
	}
	b = append(b, flags)
	for _, v := range []int64{res.Window.FromPoint.Major, res.Window.FromPoint.Minor, res.Window.UntilPoint.Major, res.Window.UntilPoint.Minor} {
		b = binary.AppendVarint(b, v)
	}
	return append(b, body...)
}

var (
	errBadEntry = errors.New("cache: malformed entry")
	errOldEntry = errors.New("cache: entry of another version")
)

func decodeEntry(b []byte, out *condcache.CachedLookup) error {
	if len(b) == 0 {
		return errBadEntry
	}
	if b[0] != entryVersion {
		return errOldEntry
	}
	b = b[1:]
	var err error
	if out.Status, b, err = entryString(b); err != nil {
		return err
	}
	if out.Digest, b, err = entryString(b); err != nil {
		return err
	}
	if out.NoticeSummary, b, err = entryString(b); err != nil {
		return err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errBadEntry
	}
	b = b[k:]
	out.Answering = make([]condcache.AnsweringIOV, n)
	for i := range out.Answering {
		id, k1 := binary.Varint(b)
		if k1 <= 0 {
			return errBadEntry
		}
		list, k2 := binary.Varint(b[k1:])
		if k2 <= 0 {
			return errBadEntry
		}
		out.Answering[i], b = condcache.AnsweringIOV{ID: id, ListID: list}, b[k1+k2:]
	}
	if len(b) == 0 {
		return errBadEntry
	}
	flags := b[0]
	b = b[1:]
	var vals [4]int64
	for i := range vals {
		v, k := binary.Varint(b)
		if k <= 0 {
			return errBadEntry
		}
		vals[i], b = v, b[k:]
	}
	out.Window.HasFrom, out.Window.HasUntil = flags&1 != 0, flags&2 != 0
	out.Window.FromPoint = condcache.Point{Major: vals[0], Minor: vals[1]}
	out.Window.UntilPoint = condcache.Point{Major: vals[2], Minor: vals[3]}
	out.Body = b
	return nil
}

// entryString reads a uvarint length and that many bytes.
func entryString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errBadEntry
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}
