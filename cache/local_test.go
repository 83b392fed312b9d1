package cache

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/condcache/condcache"
)

func key(major int64) condcache.CombKey { return condcache.Point{Major: major}.CombKey() }

func TestLocalFindByWindow(t *testing.T) {
	l := newLocal(1<<20, time.Hour)
	v := func(body string) condcache.CachedLookup {
		return condcache.CachedLookup{State: condcache.CacheHit, Generation: 3, Body: []byte(body)}
	}
	l.put("G", false, key(10), key(20), v("A"), 1)
	l.put("G", false, key(20), key(30), v("B"), 1)
	l.put("G", false, condcache.MinCombKey, key(5), v("Z"), 1)
	l.put("G", true, key(10), key(20), v("dict"), 1)
	for _, tc := range []struct {
		at   int64
		want string
	}{{-100, "Z"}, {4, "Z"}, {5, ""}, {9, ""}, {10, "A"}, {19, "A"}, {20, "B"}, {29, "B"}, {30, ""}, {1000, ""}} {
		got, _, _, ok := l.find("G", key(tc.at), false)
		if string(got.Body) != tc.want || ok != (tc.want != "") {
			t.Errorf("at %d: %q %v, want %q", tc.at, got.Body, ok, tc.want)
		}
	}
	if got, _, _, _ := l.find("G", key(15), true); string(got.Body) != "dict" {
		t.Errorf("dict shape: %q", got.Body)
	}
	if _, _, _, ok := l.find("H", key(15), false); ok {
		t.Error("another GT found G's copy")
	}
	// A newer generation replaces the GT's copies; an older one is ignored.
	newer := v("new")
	newer.Generation = 4
	l.put("G", false, key(40), key(50), newer, 1)
	if _, _, _, ok := l.find("G", key(15), false); ok {
		t.Error("a copy of generation 3 survived one of generation 4")
	}
	l.put("G", false, key(10), key(20), v("old"), 1)
	if _, _, _, ok := l.find("G", key(15), false); ok {
		t.Error("a late copy of an older generation was kept")
	}
}

func TestLocalStaysWithinBudget(t *testing.T) {
	l := newLocal(10_000, time.Hour)
	body := make([]byte, 1000)
	for i := range 100 {
		gt := string(rune('A'+i%26)) + string(rune('a'+i/26))
		l.put(gt, false, key(0), key(1), condcache.CachedLookup{State: condcache.CacheHit, Generation: 1, Body: body}, 1)
		if l.bytes > l.max {
			t.Fatalf("after %d puts: %d bytes held, budget %d", i+1, l.bytes, l.max)
		}
	}
	if len(l.gts) == 0 || len(l.gts) > 10 {
		t.Errorf("%d GTs held", len(l.gts))
	}
	// The one just used survives the next eviction.
	l2 := newLocal(2500, time.Hour)
	l2.put("old", false, key(0), key(1), condcache.CachedLookup{Generation: 1, Body: body}, 1)
	l2.put("used", false, key(0), key(1), condcache.CachedLookup{Generation: 1, Body: body}, 1)
	l2.find("old", key(0), false)
	l2.put("new", false, key(0), key(1), condcache.CachedLookup{Generation: 1, Body: body}, 1)
	if _, _, _, ok := l2.find("old", key(0), false); !ok {
		t.Error("the GT used last was evicted instead of the least recently used")
	}
	if _, _, _, ok := l2.find("used", key(0), false); ok {
		t.Error("the least recently used GT was kept over budget")
	}
}

// One GT larger than the budget keeps its most recently used half.
func TestLocalTrimsASingleLargeGT(t *testing.T) {
	l := newLocal(20_000, time.Hour)
	body := make([]byte, 1000)
	for i := range 100 {
		l.put("G", false, key(int64(2*i)), key(int64(2*i+1)), condcache.CachedLookup{Generation: 1, Body: body}, 1)
		l.find("G", key(0), false) // keep window 0 hot
		if l.bytes > l.max {
			t.Fatalf("after %d puts: %d bytes held, budget %d", i+1, l.bytes, l.max)
		}
	}
	if _, _, _, ok := l.find("G", key(0), false); !ok {
		t.Error("the hottest entry was evicted")
	}
	if _, _, _, ok := l.find("G", key(198), false); !ok {
		t.Error("the newest entry was evicted")
	}
	if n := len(l.gts["G"].rows); n < 5 {
		t.Errorf("only %d entries kept", n)
	}
}

// A copy lives no longer than the cache TTL, and a refill starts its time
// again (on synctest's fake clock, so the boundary is exact).
func TestLocalCopyExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Minute
		l := newLocal(1<<20, ttl)
		l.put("G", false, key(0), key(10), condcache.CachedLookup{Generation: 1, Body: []byte("x")}, 1)
		if _, _, _, ok := l.find("G", key(5), false); !ok {
			t.Fatal("fresh copy not found")
		}
		time.Sleep(ttl - time.Millisecond)
		if _, _, _, ok := l.find("G", key(5), false); !ok {
			t.Fatal("a copy younger than the TTL was not served")
		}
		time.Sleep(2 * time.Millisecond)
		if _, _, _, ok := l.find("G", key(5), false); ok {
			t.Error("a copy older than the TTL was served")
		}
		l.put("G", false, key(0), key(10), condcache.CachedLookup{Generation: 1, Body: []byte("y")}, 1)
		if got, _, _, ok := l.find("G", key(5), false); !ok || string(got.Body) != "y" {
			t.Errorf("a refilled copy: %q %v", got.Body, ok)
		}
		time.Sleep(ttl - time.Millisecond)
		if _, _, _, ok := l.find("G", key(5), false); !ok {
			t.Error("a refilled copy expired with the copy it replaced")
		}
		time.Sleep(2 * time.Millisecond)
		if _, _, _, ok := l.find("G", key(5), false); ok {
			t.Error("a refilled copy outlived the TTL")
		}
	})
}

// BenchmarkLocalFind: a leased hit's search among one GT's copies, at the
// size of the sphenix preset prewarmed (one copy per run of 10,000).
func BenchmarkLocalFind(b *testing.B) {
	l := newLocal(1<<30, time.Hour)
	const runs = 10_000
	v := condcache.CachedLookup{State: condcache.CacheHit, Generation: 3, Body: make([]byte, 13_000)}
	for r := range int64(runs) {
		l.put("G", false, key(r), key(r+1), v, 1)
	}
	keys := make([]condcache.CombKey, 1024)
	for i := range keys {
		keys[i] = key(int64(i*7919) % runs)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, _, _, ok := l.find("G", keys[i%len(keys)], false); !ok {
			b.Fatal("not found")
		}
	}
}
