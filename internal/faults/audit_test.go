package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache/internal/localstack"
	cdbsql "github.com/condcache/condcache/sql"
)

// TestWriterKilledMidWrites: the writer SIGKILLed three times under a
// steady write load (IOVs created and attached, bulk loads) leaves the
// audit trail and the data in step (docs/design.md "Audit trail"): every
// acknowledged write has exactly one entry; every row the test created has
// the entry that created it, and every row an entry created exists; undoing
// the whole trail gives back the GT as it was before the load. Protection:
// the trail is written by triggers in each write's own transaction.
func TestWriterKilledMidWrites(t *testing.T) {
	tp := start(t, localstack.Options{Redis: true}, localstack.ServerOptions{})
	writer := tp.servers.WriterURL
	f := newFixture(t, writer)
	conn, err := pgx.Connect(context.Background(), tp.stack.Primary.DSN(tp.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var before time.Time
	if err := conn.QueryRow(context.Background(), `SELECT clock_timestamp()`).Scan(&before); err != nil {
		t.Fatal(err)
	}

	// The load: each write carries a payload_url (or an IOV id) found in
	// its entry's request summary.
	var mu sync.Mutex
	acked := map[string]string{} // marker → endpoint
	var writes, failed atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; ctx.Err() == nil; i++ {
				url := fmt.Sprintf("w%d_%d.root", w, i)
				var status int
				var v any
				var err error
				endpoint, marker := "CreatePayloadIOV", url
				if rng.IntN(8) == 0 {
					body := make([]map[string]any, 500)
					for k := range body {
						body[k] = map[string]any{"payload_url": fmt.Sprintf("%s_b%d", url, k), "major_iov": rng.Int64N(1000), "minor_iov": 0, "payload_list": f.list}
					}
					endpoint, marker = "BulkCreatePayloadIOVs", url+"_b0"
					status, _, err = call("POST", f.api+"/bulk_piov", body)
				} else {
					status, v, err = call("POST", f.api+"/piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": rng.Int64N(1000), "minor_iov": 0})
					if err == nil && status == 200 {
						mu.Lock()
						acked[marker] = endpoint
						mu.Unlock()
						writes.Add(1)
						id := int64(v.(map[string]any)["id"].(float64))
						endpoint, marker = "AttachPayloadIOV", fmt.Sprint(id)
						status, _, err = call("PUT", f.api+"/piov_attach", map[string]any{"payload_list": f.list, "piov_id": id})
					}
				}
				writes.Add(1)
				if err != nil || status != 200 {
					failed.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked[marker] = endpoint
				mu.Unlock()
			}
		})
	}
	for range 3 {
		time.Sleep(1500 * time.Millisecond)
		if err := tp.servers.Writer.Kill(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := tp.servers.Writer.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	stop()
	wg.Wait()

	// Every acknowledged write has exactly one entry.
	rows, err := conn.Query(context.Background(), `SELECT endpoint, request FROM condcache_audit WHERE endpoint <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]int{} // marker → entries
	var endpoint string
	var request []byte
	if _, err := pgx.ForEachRow(rows, []any{&endpoint, &request}, func() error {
		var req struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(request, &req); err != nil {
			return err
		}
		var body struct {
			URL   string `json:"payload_url"`
			IOV   int64  `json:"piov_id"`
			First []struct {
				URL string `json:"payload_url"`
			} `json:"first"`
		}
		_ = json.Unmarshal(req.Body, &body)
		switch {
		case endpoint == "BulkCreatePayloadIOVs" && len(body.First) > 0:
			entries[body.First[0].URL]++
		case endpoint == "AttachPayloadIOV":
			entries[fmt.Sprint(body.IOV)]++
		case body.URL != "":
			entries[body.URL]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for marker, ep := range acked {
		if n := entries[marker]; n != 1 {
			t.Errorf("acknowledged %s (%s) has %d entries, want 1", ep, marker, n)
		}
	}
	for marker, n := range entries {
		if n > 1 {
			t.Errorf("write %s has %d entries", marker, n)
		}
	}

	// Rows and the entries that created them.
	var missing, ghosts, stored int64
	err = conn.QueryRow(context.Background(), `WITH inserted AS (
			SELECT (r->>'id')::bigint AS id FROM condcache_audit_change c, jsonb_array_elements(c.new) r
			WHERE c.tbl = 'PayloadIOV' AND c.op = 'INSERT')
		SELECT (SELECT count(*) FROM "PayloadIOV" i WHERE i.payload_url LIKE 'w%' AND i.id NOT IN (SELECT id FROM inserted)),
		       (SELECT count(*) FROM inserted WHERE id NOT IN (SELECT id FROM "PayloadIOV")),
		       (SELECT count(*) FROM "PayloadIOV" i WHERE i.payload_url LIKE 'w%')`).Scan(&missing, &ghosts, &stored)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || ghosts != 0 {
		t.Errorf("%d rows without the entry that created them, %d created rows that do not exist", missing, ghosts)
	}

	// Undoing the whole trail gives back the GT before the load.
	pool, err := cdbsql.ConnectPool(context.Background(), tp.stack.Primary.DSN(tp.db), cdbsql.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	then, err := cdbsql.GlobalTagAtOn(context.Background(), pool, f.gt, before)
	if err != nil {
		t.Fatal(err)
	}
	for typ, iovs := range then.Lists {
		if len(iovs) != 0 {
			t.Errorf("reconstructed before the load, type %s holds %d IOVs, want none", typ, len(iovs))
		}
	}
	if writes.Load()-failed.Load() < 50 || failed.Load() == 0 {
		t.Errorf("the load is lopsided: %d writes, %d failed", writes.Load(), failed.Load())
	}
	t.Logf("writer killed 3 times under 4 writing clients: %d writes sent, %d refused or cut off, %d acknowledged; "+
		"%d IOVs stored, each with its entry; %d acknowledged writes with exactly one entry each; the trail undone gives the empty list back",
		writes.Load(), failed.Load(), len(acked), stored, len(acked))
}
