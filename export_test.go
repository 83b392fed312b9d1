package condcache

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestRangeDigestCanonicalForm: the incremental range digest is the SHA-256
// of the canonical form of docs/design.md "Digests", written by hand here.
func TestRangeDigestCanonicalForm(t *testing.T) {
	size := int64(1234)
	rev := "7"
	until := Point{0, 20}
	a := TypedInterval{"Beam", Interval{From: Point{0, 10}, Until: &until,
		Row: PayloadIOV{PayloadURL: "beam.root", Checksum: "e99a", Size: &size, Extra: &rev, Start: Point{0, 10}, End: Point{0, 20}}}}
	b := TypedInterval{"Cal", Interval{From: Point{0, 5},
		Row: PayloadIOV{PayloadURL: "c", Start: Point{0, 5}, End: OpenEnd}}}
	canonical := "condcache-range-digest-v1\n" +
		"0;10;0;20;4:Beam9:beam.root4:e99a4:12341:70;10;0;20;\n" +
		"0;5;-;-;3:Cal1:c0:--0;5;9223372036854775807;9223372036854775807;\n"
	sum := sha256.Sum256([]byte(canonical))
	want := DigestPrefix + hex.EncodeToString(sum[:])
	d := NewRangeDigest()
	d.Add(a)
	d.Add(b)
	if got := d.Sum(); got != want {
		t.Errorf("RangeDigest: %s, want %s", got, want)
	}
	if got := DigestIntervals([]TypedInterval{b, a}); got != want {
		t.Errorf("DigestIntervals: %s, want %s", got, want)
	}
}

func TestExportRangeContains(t *testing.T) {
	r := ExportRange{From: Point{10, 5}, To: Point{20, MaxIOV}}
	for _, tc := range []struct {
		p    Point
		want bool
	}{{Point{10, 4}, false}, {Point{10, 5}, true}, {Point{15, 0}, true}, {Point{20, MaxIOV}, true}, {Point{21, 0}, false}} {
		if got := r.Contains(tc.p); got != tc.want {
			t.Errorf("%v in %+v: %v", tc.p, r, got)
		}
	}
	if !(ExportRange{Whole: true}).Contains(Point{-5, -5}) {
		t.Error("a whole export does not contain a point")
	}
}
