package loadtest

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync/atomic"
)

// A Workload says which request comes next. NewSource is called once per
// worker, so a Source needs no locking of its own.
type Workload interface {
	Name() string
	NewSource(seed uint64) Source
}

// Source appends the next request's path and query (from the server root)
// to b.
type Source interface {
	Next(b []byte) []byte
}

// RunRange is the span of runs a data set covers, with the number of
// subruns used as minors.
type RunRange struct {
	First, Last int64 // inclusive
	Subruns     int64 // minors are drawn from [0, Subruns)
}

// Reco is the reconstruction workload: each request looks up GT at a run
// drawn uniformly from Runs, or from a Zipf distribution (ZipfS > 1:
// low runs of the range far more often), as jobs of a reprocessing
// campaign do.
type Reco struct {
	GlobalTag string
	Runs      RunRange
	ZipfS     float64 // 0: uniform
	Dict      bool    // shape=dict
}

func (w Reco) Name() string {
	if w.ZipfS > 1 {
		return fmt.Sprintf("reco-zipf%.2g", w.ZipfS)
	}
	return "reco"
}

func (w Reco) NewSource(seed uint64) Source {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	s := &recoSource{w: w, rng: rng, prefix: lookupPrefix(w.GlobalTag)}
	if span := w.Runs.Last - w.Runs.First; w.ZipfS > 1 && span > 0 {
		s.zipf = rand.NewZipf(rng, w.ZipfS, 1, uint64(span))
	}
	return s
}

type recoSource struct {
	w      Reco
	rng    *rand.Rand
	zipf   *rand.Zipf
	prefix []byte
}

func (s *recoSource) Next(b []byte) []byte {
	run := s.w.Runs.First
	if s.zipf != nil {
		run += int64(s.zipf.Uint64())
	} else if span := s.w.Runs.Last - s.w.Runs.First; span > 0 {
		run += s.rng.Int64N(span + 1)
	}
	return appendLookup(b, s.prefix, run, subrun(s.rng, s.w.Runs), s.w.Dict)
}

// Farm is a batch farm: thousands of jobs of the same few runs at a time.
// All workers share the current burst: Burst requests ask one of Width
// neighbouring runs, then the farm moves on to the next runs. Make it with
// NewFarm.
type Farm struct {
	GlobalTag    string
	Runs         RunRange
	Width, Burst int64
	issued       atomic.Int64 // requests so far, over all workers
}

// NewFarm returns a Farm; width and burst ≤ 0 take 4 runs and 5,000
// requests.
func NewFarm(gt string, runs RunRange, width, burst int64) *Farm {
	if width <= 0 {
		width = 4
	}
	if burst <= 0 {
		burst = 5000
	}
	return &Farm{GlobalTag: gt, Runs: runs, Width: width, Burst: burst}
}

func (w *Farm) Name() string { return "farm" }

func (w *Farm) NewSource(seed uint64) Source {
	return &farmSource{w: w, rng: rand.New(rand.NewPCG(seed, 0xfa7)), prefix: lookupPrefix(w.GlobalTag)}
}

type farmSource struct {
	w      *Farm
	rng    *rand.Rand
	prefix []byte
}

func (s *farmSource) Next(b []byte) []byte {
	n := s.w.issued.Add(1)
	span := max(s.w.Runs.Last-s.w.Runs.First+1, 1)
	first := s.w.Runs.First + (n/s.w.Burst*s.w.Width)%span
	run := min(first+s.rng.Int64N(s.w.Width), s.w.Runs.Last)
	return appendLookup(b, s.prefix, run, subrun(s.rng, s.w.Runs), false)
}

// Browse is people browsing: the GT listing, one GT in full, and its
// payload lists, in turn.
type Browse struct{ GlobalTag string }

func (w Browse) Name() string { return "browse" }

func (w Browse) NewSource(seed uint64) Source {
	gt := url.PathEscape(w.GlobalTag)
	return &browseSource{paths: [][]byte{
		[]byte(apiPrefix + "globalTags"),
		[]byte(apiPrefix + "globalTag/" + gt),
		[]byte(apiPrefix + "gtPayloadLists/" + gt),
	}, i: int(seed % 3)}
}

type browseSource struct {
	paths [][]byte
	i     int
}

func (s *browseSource) Next(b []byte) []byte {
	s.i = (s.i + 1) % len(s.paths)
	return append(b, s.paths[s.i]...)
}

const apiPrefix = "/api/cdb_rest/"

func lookupPrefix(gt string) []byte {
	return []byte(apiPrefix + "payloadiovs/?gtName=" + url.QueryEscape(gt) + "&majorIOV=")
}

func appendLookup(b, prefix []byte, major, minor int64, dict bool) []byte {
	b = append(b, prefix...)
	b = strconv.AppendInt(b, major, 10)
	b = append(b, "&minorIOV="...)
	b = strconv.AppendInt(b, minor, 10)
	if dict {
		b = append(b, "&shape=dict"...)
	}
	return b
}

func subrun(rng *rand.Rand, r RunRange) int64 {
	if r.Subruns <= 1 {
		return 0
	}
	return rng.Int64N(r.Subruns)
}
