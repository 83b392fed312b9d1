package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
)

// Benchmark data: one GT of benchTypes payload types with benchIOVs IOVs
// each, every benchStride runs, so a lookup returns benchTypes rows and the
// run range holds benchIOVs windows.
const (
	benchTypes  = 100
	benchIOVs   = 100
	benchStride = 10
	benchPoints = 500 // distinct lookup URLs cycled through
)

// BenchmarkLookupSource compares, side by side in one run, a lookup answered
// from Redis, from a replica and from the primary: three reader processes of
// the shared stack over keep-alive HTTP, one client at a time, on the same
// GT and points. Run it with
//
//	go test -run '^$' -bench LookupSource -count 5 ./internal/e2e/
//
// and compare medians. Each sub-benchmark reports which source answered
// (source/op) so a misrouted run shows.
func BenchmarkLookupSource(b *testing.B) {
	gt := benchData(b)
	urls := make([]string, benchPoints)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range urls {
		run := rng.Int64N(benchIOVs * benchStride)
		urls[i] = fmt.Sprintf("%spayloadiovs/?gtName=%s&majorIOV=%d&minorIOV=%d", apiPrefix, gt, run, rng.Int64N(100))
	}
	for _, tc := range []struct {
		name   string
		opts   localstack.ServerOptions
		source string // the series of /metrics that counts the answering source
	}{
		{"redis", localstack.ServerOptions{}, `condcache_lookups_total{source="redis"}`},
		{"replica", localstack.ServerOptions{ReaderNoCache: true}, `condcache_lookups_total{source="replica"}`},
		{"primary", localstack.ServerOptions{ReaderNoCache: true, ReaderPrimaryOnly: true}, `condcache_lookups_total{source="primary"}`},
	} {
		base := benchReader(b, tc.name, tc.opts)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		get := func(url string) {
			res, err := client.Get(base + url)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || n < benchTypes*50 {
				b.Fatalf("%s: HTTP %d, %d bytes", url, res.StatusCode, n)
			}
		}
		for _, u := range urls { // warm the cache and the connections
			get(u)
		}
		b.Run(tc.name, func(b *testing.B) {
			before := metric(b, base, tc.source)
			i := 0
			for b.Loop() {
				get(urls[i%len(urls)])
				i++
			}
			b.ReportMetric((metric(b, base, tc.source)-before)/float64(i), "source/op")
		})
	}
}

// benchData loads the benchmark GT through the shared writer (once per
// process) and waits until the replica has it.
func benchData(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		w, r := newClient(b, servers.WriterURL), newClient(b, servers.ReaderURL)
		gt := w.mkGT("unlocked")
		for range benchTypes {
			pt := w.mkPT()
			pl := r.listOf(gt, pt)
			var body []any
			for k := range benchIOVs {
				body = append(body, map[string]any{"payload_list": pl, "major_iov": k * benchStride, "minor_iov": 0,
					"payload_url": fmt.Sprintf("/cvmfs/sphenix.sdcc.bnl.gov/calibrations/%s/run%06d.root", pt, k*benchStride),
					"checksum":    fmt.Sprintf("%032x", k), "size": 1 << 20})
			}
			w.ok("POST", "bulk_piov", body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := stack.WaitReplicated(ctx); err != nil {
			b.Fatal(err)
		}
		benchGT = gt
	})
	if benchGT == "" {
		b.Fatal("loading the benchmark data failed")
	}
	return benchGT
}

var (
	benchOnce sync.Once
	benchGT   string
)

// benchReader starts a writer + reader pair of the shared database with
// opts (the benchmark only uses the reader); stopped with b.
func benchReader(b *testing.B, name string, opts localstack.ServerOptions) string {
	b.Helper()
	if !opts.ReaderNoCache {
		return servers.ReaderURL // the shared reader has the cache
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.Binary, opts.Database = binary, "e2e"
	opts.LogDir = filepath.Join(stack.Dir, "log", "bench-"+name)
	if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
		b.Fatal(err)
	}
	sv, err := stack.StartServers(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sv.Stop() })
	return sv.ReaderURL
}
