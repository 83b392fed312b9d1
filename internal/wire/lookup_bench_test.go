package wire

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/condcache/condcache"
)

// sphenixAnswer is a lookup answer of the sphenix preset's shape: 100
// payload types, sPHENIX-like URLs.
func sphenixAnswer() []condcache.LookupRow {
	rows := make([]condcache.LookupRow, 100)
	for i := range rows {
		size := int64(1<<20 + i)
		rows[i] = condcache.LookupRow{PayloadType: fmt.Sprintf("sph_type_%d", i),
			PayloadURL: fmt.Sprintf("/cvmfs/sphenix.sdcc.bnl.gov/calibrations/sph_0/sph_type_%d/run%08d_0000.root", i, 5000+i),
			Checksum:   "0123456789abcdef0123456789abcdef", Size: &size,
			Start: condcache.Point{Major: 5000 + int64(i)}, End: condcache.Point{Major: 5010 + int64(i)}}
	}
	return rows
}

// BenchmarkEncodeLookup: the JSON encoding of a 100-type lookup answer, in
// both shapes, next to encoding/json of the same rows as a baseline.
func BenchmarkEncodeLookup(b *testing.B) {
	rows := sphenixAnswer()
	var buf []byte
	b.Run("rows", func(b *testing.B) {
		for b.Loop() {
			buf = AppendLookupRows(buf[:0], rows)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("dicts", func(b *testing.B) {
		for b.Loop() {
			buf = AppendLookupDicts(buf[:0], rows)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("encoding-json-baseline", func(b *testing.B) {
		var n int
		for b.Loop() {
			out, err := json.Marshal(rows)
			if err != nil {
				b.Fatal(err)
			}
			n = len(out)
		}
		b.SetBytes(int64(n))
	})
}

// TestSphenixAnswerEncodes keeps the benchmark's input honest: the rows
// encode to valid JSON with one array per type.
func TestSphenixAnswerEncodes(t *testing.T) {
	var got [][]any
	if err := json.Unmarshal(AppendLookupRows(nil, sphenixAnswer()), &got); err != nil || len(got) != 100 {
		t.Fatalf("%d rows, %v", len(got), err)
	}
}
