package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mixed is reconstruction reads plus a calibration expert writing: while
// the run lasts, a writer inserts IOVs into a list of a payload type of
// its own, one every 1/WriteRate seconds, the j-th starting at run
// Runs.First + j·WriteStride; every read checks that its answer for that
// type reflects every write acknowledged before the read was sent (else
// the read counts as a "stale" error). Make it with NewMixed.
//
// With Probes, right after each acknowledged write one lookup per probe
// (a reader's client) asks the write's run again and again until the
// answer shows it: the time from the acknowledgement to that answer is the
// write's visibility through that reader (visible_p50_ms, visible_p99_ms,
// visible_max_ms; visible_late counts probes whose first answer missed it,
// which the freshness contract says never happens).
type Mixed struct {
	Reco
	Probes      []*Client
	writer      *Client
	writeRate   float64
	writeStride int64
	typ         string
	urlPrefix   []byte // `"<type>","/cvmfs/mixed/<type>/w`

	acked         atomic.Int64 // index of the newest acknowledged write, -1 none
	writes, fails atomic.Int64

	visMu sync.Mutex
	// perProbe holds, by probe, each write's acknowledgement → the first
	// answer showing it.
	perProbe [][]time.Duration
	late     int // probes whose first answer did not show the write
}

// NewMixed returns a Mixed workload reading like reads and writing through
// writer (a writer's or reader's base URL client) at writeRate per second.
// Reads must use the positional shape (Dict false): Check reads rows.
func NewMixed(reads Reco, writer *Client, writeRate float64) *Mixed {
	m := &Mixed{Reco: reads, writer: writer, writeRate: writeRate,
		writeStride: max((reads.Runs.Last-reads.Runs.First)/1000, 1)}
	m.acked.Store(-1)
	return m
}

func (m *Mixed) Name() string {
	return fmt.Sprintf("mixed(%s + %.0f writes/s)", m.Reco.Name(), m.writeRate)
}

// start returns the run the j-th write starts at.
func (m *Mixed) start(j int64) int64 { return m.Runs.First + j*m.writeStride }

// Start creates the type and its list, then writes until ctx is done.
//
// Each Start writes a new type of its own, so a Mixed can be run again.
func (m *Mixed) Start(ctx context.Context) (stop func() (map[string]float64, error), err error) {
	m.typ = fmt.Sprintf("mixed_%d", time.Now().UnixNano())
	m.urlPrefix = []byte(`"` + m.typ + `","/cvmfs/mixed/` + m.typ + `/w`)
	m.acked.Store(-1)
	m.writes.Store(0)
	m.fails.Store(0)
	m.late = 0
	m.perProbe = make([][]time.Duration, len(m.Probes))
	if err := m.writer.CreatePayloadType(ctx, m.typ); err != nil {
		return nil, err
	}
	list, err := m.writer.CreateAttachedList(ctx, m.GlobalTag, m.typ)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		interval := time.Duration(float64(time.Second) / m.writeRate)
		for j := int64(0); ctx.Err() == nil; j++ {
			began := time.Now()
			iov := IOV{URL: fmt.Sprintf("/cvmfs/mixed/%s/w%d.root", m.typ, j), Checksum: fmt.Sprintf("%032x", j), Major: m.start(j)}
			if err := m.writer.InsertIOV(ctx, list, iov); err != nil {
				if ctx.Err() == nil {
					m.fails.Add(1)
				}
				return // later writes would start after a missing one: stop checking against them
			}
			m.writes.Add(1)
			m.acked.Store(j)
			m.probe(ctx, j, iov.URL)
			if !sleep(ctx, interval-time.Since(began)) {
				return
			}
		}
	})
	return func() (map[string]float64, error) {
		cancel()
		wg.Wait()
		out := map[string]float64{"writes": float64(m.writes.Load()), "write_errors": float64(m.fails.Load())}
		m.visibility(out)
		return out, nil
	}, nil
}

// probe measures write j's visibility through every probe, concurrently.
func (m *Mixed) probe(ctx context.Context, j int64, url string) {
	if len(m.Probes) == 0 {
		return
	}
	acked := time.Now()
	path := fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=0", m.GlobalTag, m.start(j))
	want := []byte(`"` + url + `"`)
	var wg sync.WaitGroup
	for i, c := range m.Probes {
		wg.Go(func() {
			for first := true; ctx.Err() == nil; first = false {
				res, err := c.Get(ctx, path)
				if err == nil && res.Status == 200 && bytes.Contains(res.Body, want) {
					took := time.Since(acked)
					m.visMu.Lock()
					m.perProbe[i] = append(m.perProbe[i], took)
					m.visMu.Unlock()
					return
				}
				if first && err == nil && res.Status == 200 {
					// An answer that misses the write (an error, or the
					// run ending mid-request, says nothing about it).
					m.visMu.Lock()
					m.late++
					m.visMu.Unlock()
				}
				if !sleep(ctx, time.Millisecond) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// visibility adds the probes' figures to out.
func (m *Mixed) visibility(out map[string]float64) {
	m.visMu.Lock()
	defer m.visMu.Unlock()
	if len(m.Probes) == 0 {
		return
	}
	out["visible_late"] = float64(m.late)
	visible := slices.Concat(m.perProbe...)
	if len(visible) == 0 {
		return
	}
	p50, p99, maxD := quantiles(visible)
	out["visible_p50_ms"], out["visible_p99_ms"], out["visible_max_ms"] = ms(p50), ms(p99), ms(maxD)
}

// VisibleP99ByProbe is the last run's visibility p99 in ms through each
// probe, in the order of Probes (NaN for a probe that saw no write).
func (m *Mixed) VisibleP99ByProbe() []float64 {
	m.visMu.Lock()
	defer m.visMu.Unlock()
	out := make([]float64, len(m.perProbe))
	for i, d := range m.perProbe {
		out[i] = math.NaN()
		if len(d) > 0 {
			_, p99, _ := quantiles(slices.Clone(d))
			out[i] = ms(p99)
		}
	}
	return out
}

func (m *Mixed) NewSource(seed uint64) Source {
	return &mixedSource{m: m, reads: m.Reco.NewSource(seed).(*recoSource)}
}

type mixedSource struct {
	m     *Mixed
	reads *recoSource
	want  int64 // the oldest acceptable write index for the last request; -1 none
}

func (s *mixedSource) Next(b []byte) []byte {
	acked := s.m.acked.Load()
	b = s.reads.Next(b)
	// The request's run is the majorIOV just appended.
	run := parseMajor(b)
	s.want = -1
	if acked >= 0 && run >= s.m.Runs.First {
		s.want = min(acked, (run-s.m.Runs.First)/s.m.writeStride)
	}
	return b
}

// Check reports whether body shows the newest write it must.
func (s *mixedSource) Check(body []byte) bool {
	if s.want < 0 {
		return true
	}
	i := bytes.Index(body, s.m.urlPrefix)
	if i < 0 {
		return false
	}
	rest := body[i+len(s.m.urlPrefix):]
	end := bytes.IndexByte(rest, '.')
	if end < 0 {
		return false
	}
	j, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return err == nil && j >= s.want
}

func parseMajor(uri []byte) int64 {
	i := bytes.Index(uri, []byte("majorIOV="))
	if i < 0 {
		return -1
	}
	rest := uri[i+len("majorIOV="):]
	if end := bytes.IndexByte(rest, '&'); end >= 0 {
		rest = rest[:end]
	}
	n, err := strconv.ParseInt(string(rest), 10, 64)
	if err != nil {
		return -1
	}
	return n
}
