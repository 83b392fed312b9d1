// Package wire holds the JSON shapes of the Nopayloaddb-compatible REST API
// (docs/compatibility.md "JSON shapes"): field names and order, naive UTC timestamps, and the error
// body; and those of condcache's own v2 answers (CheckReport). It knows
// nothing of HTTP libraries or storage; the reader and writer packages (and
// the condcache command) render domain values through it so all emit
// identical shapes.
package wire

import (
	"bytes"
	"encoding/json"
	"time"
)

// Time renders like Python's isoformat of a naive UTC datetime:
// "2026-07-23T00:05:09.831925", without the fraction when microseconds are 0.
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 28)
	b = append(b, '"')
	b = AppendTime(b, time.Time(t))
	return append(b, '"'), nil
}

// AppendTime appends the isoformat text of t (in UTC) to b.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.AppendFormat(b, "2006-01-02T15:04:05")
	}
	return t.AppendFormat(b, "2006-01-02T15:04:05.000000")
}

// Marshal encodes v as compact JSON without HTML escaping (DRF does not escape
// <, > and &) and without a trailing newline.
func Marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every value passed here is built from plain Go types; an encoding
		// failure is a programming error.
		panic("wire: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
