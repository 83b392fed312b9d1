package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/condcache/condcache"
)

// AppendLookupRows appends the default lookup answer: an array of 9-column
// positional arrays [type, url, checksum, size, major, minor, major_end,
// minor_end, revision] (docs/compatibility.md "The lookup"). Hand-written because it is the hot path.
func AppendLookupRows(b []byte, rows []condcache.LookupRow) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = AppendString(b, r.PayloadType)
		b = append(b, ',')
		b = AppendString(b, r.PayloadURL)
		b = append(b, ',')
		b = AppendString(b, r.Checksum)
		b = append(b, ',')
		b = appendIntPtr(b, r.Size)
		for _, v := range [4]int64{r.Start.Major, r.Start.Minor, r.End.Major, r.End.Minor} {
			b = append(b, ',')
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ',')
		b = appendStringPtr(b, r.Revision)
		b = append(b, ']')
	}
	return append(b, ']')
}

// AppendLookupDicts appends the shape=dict lookup answer: the same rows as
// objects.
func AppendLookupDicts(b []byte, rows []condcache.LookupRow) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"payload_type_name":`...)
		b = AppendString(b, r.PayloadType)
		b = append(b, `,"payload_url":`...)
		b = AppendString(b, r.PayloadURL)
		b = append(b, `,"checksum":`...)
		b = AppendString(b, r.Checksum)
		b = append(b, `,"size":`...)
		b = appendIntPtr(b, r.Size)
		b = append(b, `,"major_iov":`...)
		b = strconv.AppendInt(b, r.Start.Major, 10)
		b = append(b, `,"minor_iov":`...)
		b = strconv.AppendInt(b, r.Start.Minor, 10)
		b = append(b, `,"major_iov_end":`...)
		b = strconv.AppendInt(b, r.End.Major, 10)
		b = append(b, `,"minor_iov_end":`...)
		b = strconv.AppendInt(b, r.End.Minor, 10)
		b = append(b, `,"revision":`...)
		b = appendStringPtr(b, r.Revision)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendIntPtr(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *v, 10)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return AppendString(b, *s)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: non-ASCII kept as UTF-8 (as DRF
// does), control characters, quote and backslash escaped, invalid UTF-8
// replaced by U+FFFD like encoding/json.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ParseLookupRows reads back an answer AppendLookupRows wrote (a cached
// one), for the v2 lookup, which answers from the same cache entries.
func ParseLookupRows(body []byte) ([]condcache.LookupRow, error) {
	var raw [][]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("wire: cached lookup rows: %w", err)
	}
	rows := make([]condcache.LookupRow, len(raw))
	for i, cols := range raw {
		if len(cols) != 9 {
			return nil, fmt.Errorf("wire: cached lookup row of %d columns", len(cols))
		}
		r := &rows[i]
		var ints [4]int64
		for j, dst := range []any{&r.PayloadType, &r.PayloadURL, &r.Checksum, &r.Size, &ints[0], &ints[1], &ints[2], &ints[3], &r.Revision} {
			if err := json.Unmarshal(cols[j], dst); err != nil {
				return nil, fmt.Errorf("wire: cached lookup row, column %d: %w", j, err)
			}
		}
		r.Start, r.End = condcache.Point{Major: ints[0], Minor: ints[1]}, condcache.Point{Major: ints[2], Minor: ints[3]}
	}
	return rows, nil
}
