package ui

import (
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/condcache/condcache"
)

// The IOV timeline (docs/design.md "Web UI"): one lane per payload type,
// one segment per effective interval of condcache.ResolveRange over the
// run range, gaps (no answer) and the consistency check's findings marked.
// Segments are SVG rectangles placed in a 1000-unit wide view box, so no
// inline style is needed (the Content-Security-Policy forbids them).

// viewWidth is the width of a lane's view box.
const viewWidth = 1000

type timeline struct {
	From, To string // the range as asked, "R.m"
	Lanes    []lane
	Ticks    []tick
	Segments int
	Gaps     int
	Findings int
}

type lane struct {
	Type     string
	List     string
	Segments []segment
}

type tick struct {
	Label string
	Class string
}

// segment is one piece of a lane: an answer, a gap, or (in a diff) a
// range where two GTs answer differently.
type segment struct {
	Kind        string // "answer", "gap", "change", "only"
	X, W        string // in view box units
	From, Until string // "R.m"; Until "" when unbounded
	Colour      string // class of the payload's colour
	IOV         int64
	URL         string
	Checksum    string
	Size        string
	Revision    string
	Href        string
	Finding     string // kinds of the findings about its IOV, comma-separated
	Label       string // what hover and focus show, as one line
	A, B        *side  // a diff's two answers
}

type side struct {
	IOV            int64
	URL, Checksum  string
	Size, Revision string
}

// scale maps points of [from, end) to view box units.
type scale struct{ lo, hi float64 }

func position(p condcache.Point) float64 {
	return float64(p.Major) + float64(p.Minor)/1e19
}

func newScale(from condcache.Point, to condcache.Point) scale {
	s := scale{lo: position(from)}
	end, ok := to.After()
	if !ok {
		end = to
	}
	s.hi = position(end)
	if s.hi <= s.lo {
		s.hi = s.lo + 1
	}
	return s
}

func (s scale) x(p *condcache.Point) float64 {
	if p == nil {
		return viewWidth
	}
	f := (position(*p) - s.lo) / (s.hi - s.lo)
	return math.Min(math.Max(f, 0), 1) * viewWidth
}

func units(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// place sets X and W of seg for [from, until); tiny pieces stay visible.
func (s scale) place(seg *segment, from condcache.Point, until *condcache.Point) {
	a, b := s.x(&from), s.x(until)
	w := b - a
	if w < 0.6 {
		w = 0.6
		if a+w > viewWidth {
			a = viewWidth - w
		}
	}
	seg.X, seg.W = units(a), units(w)
}

func (s scale) ticks() []tick {
	out := make([]tick, 11)
	span := s.hi - s.lo
	for i := range out {
		v := s.lo + span*float64(i)/10
		label := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		if span < 20 {
			label = strconv.FormatFloat(v, 'f', 1, 64)
		}
		out[i] = tick{Label: label, Class: "tick-" + strconv.Itoa(i)}
	}
	return out
}

// colour gives a payload (url and checksum) one of eight colours, the same
// wherever it shows: a split copy looks like what it was split from.
func colour(url, checksum string) string {
	h := fnv.New32a()
	h.Write([]byte(url))
	h.Write([]byte{0})
	h.Write([]byte(checksum))
	return "c" + strconv.Itoa(int(h.Sum32()%8))
}

// buildTimeline lays out types (ResolveRange's pieces over [from, to]),
// with each type's list name, marking the IOVs of findings.
func buildTimeline(types []condcache.TypeIntervals, lists map[string]string, from, to condcache.Point, findings []condcache.Finding) timeline {
	s := newScale(from, to)
	t := timeline{From: pointText(from), To: pointText(to), Ticks: s.ticks()}
	byIOV := map[int64][]string{}
	for _, f := range findings {
		if f.Kind == condcache.FindingDuplicateType || f.Kind.Informational() {
			continue // about lists, or how bulk loads store IOVs: in the findings' table
		}
		for _, id := range f.IDs {
			if !slices.Contains(byIOV[id], string(f.Kind)) {
				byIOV[id] = append(byIOV[id], string(f.Kind))
			}
		}
	}
	for _, ti := range types {
		l := lane{Type: ti.PayloadType, List: lists[ti.PayloadType]}
		for _, p := range ti.Intervals {
			seg := segment{From: pointText(p.From), Until: pointPtrText(p.Until)}
			s.place(&seg, p.From, p.Until)
			if p.Row == nil {
				seg.Kind = "gap"
				seg.Label = ti.PayloadType + " " + rangeLabel(p.From, p.Until) + ": no answer"
				t.Gaps++
			} else {
				x := p.Row
				seg.Kind, seg.IOV, seg.URL, seg.Checksum = "answer", x.ID, x.PayloadURL, x.Checksum
				seg.Size, seg.Revision = sizeText(x.Size), deref(x.Extra)
				seg.Colour = colour(x.PayloadURL, x.Checksum)
				seg.Href = link("iov", "id", strconv.FormatInt(x.ID, 10))
				if kinds := byIOV[x.ID]; len(kinds) > 0 {
					seg.Finding = strings.Join(kinds, ", ")
					t.Findings++
				}
				seg.Label = ti.PayloadType + " " + rangeLabel(p.From, p.Until) + ": " + x.PayloadURL +
					", checksum " + x.Checksum + ", size " + seg.Size + ", IOV " + strconv.FormatInt(x.ID, 10)
				if seg.Finding != "" {
					seg.Label += "; check: " + seg.Finding
				}
			}
			t.Segments++
			l.Segments = append(l.Segments, seg)
		}
		t.Lanes = append(t.Lanes, l)
	}
	return t
}

// buildDiffTimeline lays out the differences of two GTs over [from, to]:
// one lane per type present in both, a segment per changed range, and a
// full lane for each type only one of them has.
func buildDiffTimeline(changes []condcache.AnswerChange, onlyA, onlyB []string, from, to condcache.Point) timeline {
	s := newScale(from, to)
	t := timeline{From: pointText(from), To: pointText(to), Ticks: s.ticks()}
	var lanes []lane
	idx := map[string]int{}
	for _, c := range changes {
		i, ok := idx[c.PayloadType]
		if !ok {
			i = len(lanes)
			idx[c.PayloadType] = i
			lanes = append(lanes, lane{Type: c.PayloadType})
		}
		seg := segment{Kind: "change", From: pointText(c.From), Until: pointPtrText(c.Until), A: newSide(c.Before), B: newSide(c.After)}
		s.place(&seg, c.From, c.Until)
		seg.Label = c.PayloadType + " " + rangeLabel(c.From, c.Until) + ": A " + sideText(seg.A) + "; B " + sideText(seg.B)
		lanes[i].Segments = append(lanes[i].Segments, seg)
		t.Segments++
	}
	for _, only := range []struct {
		types []string
		which string
	}{{onlyA, "A"}, {onlyB, "B"}} {
		for _, ty := range only.types {
			seg := segment{Kind: "only", From: pointText(from), Until: pointText(to), Label: ty + ": only in " + only.which}
			s.place(&seg, from, nil)
			lanes = append(lanes, lane{Type: ty, List: "only in " + only.which, Segments: []segment{seg}})
			t.Segments++
		}
	}
	t.Lanes = lanes
	return t
}

func newSide(x *condcache.PayloadIOV) *side {
	if x == nil {
		return nil
	}
	return &side{IOV: x.ID, URL: x.PayloadURL, Checksum: x.Checksum, Size: sizeText(x.Size), Revision: deref(x.Extra)}
}

func sideText(s *side) string {
	if s == nil {
		return "no answer"
	}
	return s.URL + " (checksum " + s.Checksum + ", size " + s.Size + ", IOV " + strconv.FormatInt(s.IOV, 10) + ")"
}

// rangeLabel shows [from, until) for people: MAX for the largest
// component, ∞ for no upper bound.
func rangeLabel(from condcache.Point, until *condcache.Point) string {
	return "[" + showPoint(from) + ", " + showPointPtr(until) + ")"
}
