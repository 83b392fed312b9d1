package cache_test

import (
	"testing"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/cache"
	"github.com/condcache/condcache/internal/testkit"
)

func getResp(t *testing.T, c *cache.Cache, scope, key string) condcache.CachedResponse {
	t.Helper()
	got, err := c.GetResponse(t.Context(), scope, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func fillResp(t *testing.T, c *cache.Cache, scope, key string, gen int64, body string) bool {
	t.Helper()
	stored, err := c.FillResponse(t.Context(), scope, []byte(key), gen, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func wantResp(t *testing.T, got condcache.CachedResponse, state condcache.CacheState, body string) {
	t.Helper()
	if got.State != state || (state == condcache.CacheHit && string(got.Body) != body) {
		t.Fatalf("got %s %q, want %s %q", stateNames[got.State], got.Body, stateNames[state], body)
	}
}

// A GT's cached responses follow its generation like its lookups: stored
// only at the published generation with no write pending, dropped by a
// mark and by a publish.
func TestGTResponses(t *testing.T) {
	c := open(t, sharedURL(), cache.Options{})
	gt := testkit.Uniq("resp")
	publish(t, c, gt, 5)
	miss := getResp(t, c, gt, "/gtPayloadLists/x")
	wantResp(t, miss, condcache.CacheMiss, "")
	if miss.Generation != 5 {
		t.Fatalf("generation %d, want 5", miss.Generation)
	}
	if fillResp(t, c, gt, "/gtPayloadLists/x", 4, `{}`) {
		t.Fatal("stored at an older generation")
	}
	if !fillResp(t, c, gt, "/gtPayloadLists/x", 5, `{"a":"b"}`) {
		t.Fatal("not stored at the published generation")
	}
	wantResp(t, getResp(t, c, gt, "/gtPayloadLists/x"), condcache.CacheHit, `{"a":"b"}`)
	wantResp(t, getResp(t, c, gt, "/globalTag/x"), condcache.CacheMiss, "")

	mark(t, c, gt, 6)
	wantResp(t, getResp(t, c, gt, "/gtPayloadLists/x"), condcache.CachePending, "")
	if fillResp(t, c, gt, "/gtPayloadLists/x", 5, `{}`) {
		t.Fatal("stored while a write is pending")
	}
	publish(t, c, gt, 6)
	wantResp(t, getResp(t, c, gt, "/gtPayloadLists/x"), condcache.CacheMiss, "")
	if !fillResp(t, c, gt, "/gtPayloadLists/x", 6, `{"new":"x"}`) {
		t.Fatal("not stored after the publish")
	}
	publish(t, c, gt, 7) // a write that was never marked (plain SQL, via the relay)
	wantResp(t, getResp(t, c, gt, "/gtPayloadLists/x"), condcache.CacheMiss, "")
}

// The all scope: every publish invalidates, even one with a lower
// generation than an earlier publish (its writes commit in any order), and
// a write stays pending until its own publish, whatever publishes of later
// generations come first.
func TestAllScopeResponses(t *testing.T) {
	c := open(t, freshDB(t), cache.Options{})
	all := condcache.AllScope
	key := "/api/cdb_rest/pt"
	m := getResp(t, c, all, key)
	wantResp(t, m, condcache.CacheMiss, "")
	if !fillResp(t, c, all, key, m.Generation, `["a"]`) {
		t.Fatal("not stored")
	}
	wantResp(t, getResp(t, c, all, key), condcache.CacheHit, `["a"]`)

	// Two writes in flight; the later-numbered one commits and publishes first.
	mark(t, c, all, 10)
	mark(t, c, all, 11)
	wantResp(t, getResp(t, c, all, key), condcache.CachePending, "")
	publish(t, c, all, 11)
	pending := getResp(t, c, all, key)
	wantResp(t, pending, condcache.CachePending, "")
	if fillResp(t, c, all, key, pending.Generation, `["before 10"]`) {
		t.Fatal("stored while write 10 is still pending")
	}
	publish(t, c, all, 10)
	m = getResp(t, c, all, key)
	wantResp(t, m, condcache.CacheMiss, "")

	// A publish between get and fill voids the fill, even one numbered
	// below everything published so far.
	publish(t, c, all, 3)
	if fillResp(t, c, all, key, m.Generation, `["stale"]`) {
		t.Fatal("a fill from before a publish was stored")
	}
	m = getResp(t, c, all, key)
	if !fillResp(t, c, all, key, m.Generation, `["b"]`) {
		t.Fatal("not stored")
	}
	publish(t, c, all, 2)
	wantResp(t, getResp(t, c, all, key), condcache.CacheMiss, "")
}

// The all scope's counter lives only in Redis: after a restart and resync
// it must not count again through values a fill prepared before the
// restart may hold.
func TestAllScopeCounterSurvivesRestart(t *testing.T) {
	url := freshDB(t)
	c := open(t, url, cache.Options{})
	all, key := condcache.AllScope, "/api/cdb_rest/gtstatus"
	before := getResp(t, c, all, key)
	wantResp(t, before, condcache.CacheMiss, "")
	restartRedis(t, url)
	if err := c.Resync(t.Context(), noGenerations); err != nil {
		t.Fatal(err)
	}
	// Count as far as a counter restarted at 0 would need to match.
	for g := range min(before.Generation, 1000) {
		publish(t, c, all, 100+g)
	}
	if fillResp(t, c, all, key, before.Generation, `["from before the restart"]`) {
		t.Fatal("a fill prepared before the restart matched the counter after it")
	}
	if after := getResp(t, c, all, key); after.Generation <= before.Generation {
		t.Errorf("counter %d after the restart, %d before", after.Generation, before.Generation)
	}
}

// A transaction that marked and then failed to commit takes its all-scope
// marks back, so they do not keep the scope uncacheable until they expire;
// other writes' marks stay.
func TestUnmarkAfterFailedCommit(t *testing.T) {
	c := open(t, freshDB(t), cache.Options{})
	all, key := condcache.AllScope, "/api/cdb_rest/pt"
	mark(t, c, all, 20) // another write in flight
	mark(t, c, all, 21) // this transaction's, which then fails
	if err := c.Unmark(t.Context(), []condcache.Invalidation{{GlobalTag: all, Generation: 21}}); err != nil {
		t.Fatal(err)
	}
	wantResp(t, getResp(t, c, all, key), condcache.CachePending, "")
	publish(t, c, all, 20)
	wantResp(t, getResp(t, c, all, key), condcache.CacheMiss, "")
}
