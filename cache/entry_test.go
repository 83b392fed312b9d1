package cache

import (
	"bytes"
	"testing"

	"github.com/condcache/condcache"
)

func TestEntryRoundTrip(t *testing.T) {
	res := &condcache.LookupResult{Status: "locked", Generation: 9}
	res.Window.HasFrom, res.Window.FromPoint = true, condcache.Point{Major: 10, Minor: 3}
	res.Window.HasUntil, res.Window.UntilPoint = true, condcache.Point{Major: -1 << 63, Minor: 1<<63 - 1}
	body := []byte(`[["t","u","c",1,10,3,20,0,null]]`)
	var got condcache.CachedLookup
	if err := decodeEntry(encodeEntry(res, body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != res.Status || got.Window.FromPoint != res.Window.FromPoint || got.Window.UntilPoint != res.Window.UntilPoint ||
		!got.Window.HasFrom || !got.Window.HasUntil || !bytes.Equal(got.Body, body) {
		t.Fatalf("decoded %+v", got)
	}
	res.Window.HasUntil = false
	if err := decodeEntry(encodeEntry(res, nil), &got); err != nil || got.Window.HasUntil || len(got.Body) != 0 {
		t.Fatalf("open window, empty body: %+v, %v", got, err)
	}
}

// Every truncation of an entry is either refused or decodes without
// panicking: a corrupt value in Redis must not take a reader down.
func TestEntryTruncated(t *testing.T) {
	res := &condcache.LookupResult{Status: "unlocked"}
	res.Window.HasFrom, res.Window.FromPoint = true, condcache.Point{Major: 1 << 40, Minor: 7}
	b := encodeEntry(res, []byte("[]"))
	for n := range len(b) - 2 {
		var got condcache.CachedLookup
		if err := decodeEntry(b[:n], &got); err == nil {
			t.Errorf("a %d-byte prefix of a %d-byte entry decoded", n, len(b))
		}
	}
	if err := decodeEntry(append([]byte{entryVersion + 1}, b[1:]...), new(condcache.CachedLookup)); err == nil {
		t.Error("an entry of another version decoded")
	}
}
