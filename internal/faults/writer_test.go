package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache/internal/localstack"
)

// TestWriterKilledMidBulkLoad: the writer SIGKILLed while PostgreSQL copies
// a 200,000-IOV bulk load (seen in pg_stat_activity) leaves none of it;
// restarted, the writer takes the same load whole. Protection: the load is
// one transaction (sql Store.BulkCreatePayloadIOVs), rolled back by
// PostgreSQL when the writer's connection dies.
func TestWriterKilledMidBulkLoad(t *testing.T) {
	tp := start(t, localstack.Options{Redis: true}, localstack.ServerOptions{})
	writer := tp.servers.WriterURL
	f := newFixture(t, writer)
	const n = 200_000
	body := make([]map[string]any, n)
	for i := range body {
		body[i] = map[string]any{"payload_url": fmt.Sprintf("bulk%06d.root", i), "checksum": "c",
			"major_iov": i, "minor_iov": 0, "payload_list": f.list}
	}
	conn, err := pgx.Connect(context.Background(), tp.stack.Primary.DSN(tp.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	count := func() int64 {
		t.Helper()
		var c int64
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM "PayloadIOV" WHERE payload_url LIKE 'bulk%'`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	answered := make(chan error, 1)
	go func() {
		status, v, err := call("POST", f.api+"/bulk_piov", body)
		if err == nil {
			err = fmt.Errorf("the killed writer answered %d %v", status, v)
		}
		answered <- err
	}()
	poll.Eventually(t, 60*time.Second, "the bulk load's COPY is running", func() bool {
		var copying bool
		err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE state = 'active' AND query ILIKE 'copy%PayloadIOV%')`).Scan(&copying)
		return err == nil && copying
	})
	time.Sleep(200 * time.Millisecond) // well into the COPY
	if err := tp.servers.Writer.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("client side: %v", <-answered)
	// PostgreSQL notices the dead connection and rolls back.
	poll.Eventually(t, 30*time.Second, "the killed writer's backend is gone", func() bool {
		var busy bool
		err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE query ILIKE 'copy%PayloadIOV%' AND pid <> pg_backend_pid())`).Scan(&busy)
		return err == nil && !busy
	})
	if c := count(); c != 0 {
		t.Fatalf("%d of the %d IOVs exist after the writer was killed mid-load: want all or nothing", c, n)
	}

	if err := tp.servers.Writer.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	v := must(t, "POST", f.api+"/bulk_piov", body)
	if created := v.(map[string]any)["created"]; created != float64(n) {
		t.Errorf("the retried load answered %v, want created %d", v, n)
	}
	if c := count(); c != n {
		t.Errorf("%d IOVs after the retried load, want %d", c, n)
	}
	t.Logf("writer killed during the COPY of %d IOVs: 0 rows left behind; the retried load stored %d in %v",
		n, count(), time.Since(began).Round(100*time.Millisecond))
}
