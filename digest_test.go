package condcache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDigestCanonicalForm pins the documented canonical form byte for byte
// (docs/design.md "Digests"), so that clients can recompute a digest.
func TestDigestCanonicalForm(t *testing.T) {
	size, rev := int64(1234), "7"
	rows := []LookupRow{
		{PayloadType: "ZDC", PayloadURL: "zdc.root", Checksum: "", Start: Point{5, 0}, End: OpenEnd},
		{PayloadType: "Beam", PayloadURL: "beam.root", Checksum: "e99a", Size: &size, Revision: &rev, Start: Point{0, 10}, End: Point{0, 20}},
	}
	canonical := "condcache-digest-v1\n" +
		"4:Beam9:beam.root4:e99a4:12341:70;10;0;20;\n" +
		"3:ZDC8:zdc.root0:--5;0;9223372036854775807;9223372036854775807;\n"
	sum := sha256.Sum256([]byte(canonical))
	if got, want := DigestRows(rows), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("DigestRows = %s, want %s (sha256 of %q)", got, want, canonical)
	}
}

func randomRow(rng *rand.Rand, typ string) LookupRow {
	r := LookupRow{PayloadType: typ, PayloadURL: fmt.Sprintf("u%d.root", rng.IntN(5)), Checksum: []string{"", "a", "ab"}[rng.IntN(3)],
		Start: Point{rng.Int64N(3), rng.Int64N(3)}, End: []Point{OpenEnd, {3, 0}, {4, 1}}[rng.IntN(3)]}
	if rng.IntN(2) == 0 {
		s := rng.Int64N(3)
		r.Size = &s
	}
	if rng.IntN(2) == 0 {
		v := fmt.Sprint(rng.IntN(3))
		r.Revision = &v
	}
	return r
}

// mutateRow changes one thing a job reads from a row.
func mutateRow(rng *rand.Rand, r LookupRow) LookupRow {
	switch rng.IntN(9) {
	case 0:
		r.PayloadURL += "x"
	case 1:
		r.Checksum += "0"
	case 2:
		if r.Size == nil {
			s := int64(0)
			r.Size = &s
		} else {
			s := *r.Size + 1
			r.Size = &s
		}
	case 3:
		r.Start.Major++
	case 4:
		r.Start.Minor++
	case 5:
		r.End.Major--
	case 6:
		r.End.Minor--
	case 7:
		if r.Revision == nil {
			v := ""
			r.Revision = &v // an empty revision is not a missing one
		} else {
			r.Revision = nil
		}
	default:
		// Move a byte between adjacent fields: the length prefixes tell
		// them apart.
		if r.PayloadURL != "" {
			r.Checksum = r.PayloadURL[len(r.PayloadURL)-1:] + r.Checksum
			r.PayloadURL = r.PayloadURL[:len(r.PayloadURL)-1]
		} else {
			r.PayloadURL = "x"
		}
	}
	return r
}

// TestDigestProperties: the digest depends on the answer only (not on row
// order), and any change of url, checksum, size, revision, bounds, types or
// row count gives another digest.
func TestDigestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	seen := map[string]string{}
	for range 5000 {
		var rows []LookupRow
		for i := range 1 + rng.IntN(5) {
			rows = append(rows, randomRow(rng, fmt.Sprintf("T%d", i)))
		}
		d := DigestRows(rows)
		shuffled := append([]LookupRow(nil), rows...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if DigestRows(shuffled) != d {
			t.Fatalf("row order changes the digest of %+v", rows)
		}
		changed := append([]LookupRow(nil), rows...)
		i := rng.IntN(len(changed))
		changed[i] = mutateRow(rng, changed[i])
		if DigestRows(changed) == d {
			t.Fatalf("changing row %d from %+v to %+v keeps the digest", i, rows[i], changed[i])
		}
		if DigestRows(rows[:len(rows)-1]) == d {
			t.Fatalf("dropping a row keeps the digest")
		}
		// Distinct answers never collide.
		key := fmt.Sprintf("%v", canonicalRows(rows))
		if other, ok := seen[d]; ok && other != key {
			t.Fatalf("two answers share digest %s:\n%s\n%s", d, other, key)
		}
		seen[d] = key
	}
}

// canonicalRows renders rows order-independently, to tell equal answers.
func canonicalRows(rows []LookupRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		size, rev := "-", "-"
		if r.Size != nil {
			size = fmt.Sprint(*r.Size)
		}
		if r.Revision != nil {
			rev = "'" + *r.Revision + "'"
		}
		out[i] = fmt.Sprintf("%s|%s|%s|%s|%s|%v|%v", r.PayloadType, r.PayloadURL, r.Checksum, size, rev, r.Start, r.End)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestDigestIntervals: a range digest covers the bounds of each interval
// as well as its payload.
func TestDigestIntervals(t *testing.T) {
	until := Point{0, 20}
	iv := TypedInterval{"Beam", Interval{From: Point{0, 10}, Until: &until, Row: PayloadIOV{PayloadURL: "b", Start: Point{0, 10}, End: OpenEnd}}}
	d := DigestIntervals([]TypedInterval{iv})
	later := Point{0, 21}
	moved := iv
	moved.Until = &later
	open := iv
	open.Until = nil
	for _, other := range []TypedInterval{moved, open} {
		if DigestIntervals([]TypedInterval{other}) == d {
			t.Errorf("interval %+v has the digest of %+v", other, iv)
		}
	}
	if DigestIntervals(nil) == DigestRows(nil) {
		t.Error("an empty range digest equals an empty lookup digest")
	}
}
