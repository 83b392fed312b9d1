package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest/pgdata"
)

// BenchmarkExport measures GET /api/v2/gt/{name}/export of the sphenix
// preset's GT (100 types × 1,000 IOVs, loaded with COPY, no clones) from a
// reader without cache on the shared stack's replica: the whole path,
// PostgreSQL snapshot, SQLite file, and the download. It reports IOVs/s
// and MB/s. Run it with
//
//	go test -run '^$' -bench Export -count 5 ./internal/e2e/
func BenchmarkExport(b *testing.B) {
	base, gt, rows := exportBenchData(b)
	u := base + "/api/v2/gt/" + url.PathEscape(gt) + "/export"
	var bytes int64
	began := time.Now()
	for b.Loop() {
		res, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || res.Header.Get("X-Condcache-Iovs") != strconv.FormatInt(rows, 10) {
			b.Fatalf("export: HTTP %d, %d bytes, %v, %s IOVs", res.StatusCode, n, err, res.Header.Get("X-Condcache-Iovs"))
		}
		bytes += n
	}
	secs := time.Since(began).Seconds()
	b.ReportMetric(float64(rows)*float64(b.N)/secs, "IOVs/s")
	b.ReportMetric(float64(bytes)/secs/1e6, "MB/s")
	b.ReportMetric(float64(bytes)/float64(b.N)/1e6, "MB/file")
}

// exportBenchData loads the sphenix preset once per process into a
// database of its own with a writer and an uncached reader.
func exportBenchData(b *testing.B) (base, gt string, rows int64) {
	b.Helper()
	exportBenchOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		db := fmt.Sprintf("e2e_%d", dbSeq.Add(1))
		if err := stack.CreateDatabase(ctx, db); err != nil {
			b.Fatal(err)
		}
		sv, err := stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: db, ReaderNoCache: true})
		if err != nil {
			b.Fatal(err)
		}
		// The servers serve every run of the benchmark: stopped with the
		// package's stack.
		prev := stopLate
		stopLate = func() { _ = sv.Stop(); prev() }
		p, _ := pgdata.PresetNamed("sphenix")
		p.Clones = 0
		pool, err := pgxpool.New(ctx, stack.Primary.DSN(db))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		d, err := pgdata.Load(ctx, pool, p, "export_bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := stack.WaitReplicated(ctx); err != nil {
			b.Fatal(err)
		}
		exportBench = struct {
			base, gt string
			rows     int64
		}{sv.ReaderURL, d.GlobalTags[0], d.Rows}
	})
	if exportBench.gt == "" {
		b.Fatal("loading the export benchmark data failed")
	}
	return exportBench.base, exportBench.gt, exportBench.rows
}

var (
	exportBenchOnce sync.Once
	exportBench     struct {
		base, gt string
		rows     int64
	}
)
