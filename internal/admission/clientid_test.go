package admission

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestClientKey(t *testing.T) {
	for _, c := range []struct {
		headers        []string
		trustForwarded bool
		want           string
	}{
		{nil, false, "192.0.2.7"},
		{[]string{HeaderClient, "reco-pass3/job 42"}, false, "reco-pass3/job_42"},
		{[]string{"X-Job-ID", "slurm:123"}, false, "slurm:123"},
		{[]string{HeaderClient, "  ", "X-Job-ID", "j1"}, false, "j1"},
		{[]string{HeaderClient, string(make([]byte, 100))}, false, string(slices.Repeat([]byte{'_'}, maxClientKey))},
		{[]string{fasthttp.HeaderXForwardedFor, "10.0.0.1, 10.0.0.2"}, false, "192.0.2.7"},
		{[]string{fasthttp.HeaderXForwardedFor, "10.0.0.1, 10.0.0.2"}, true, "10.0.0.2"},
		{[]string{fasthttp.HeaderXForwardedFor, "nonsense"}, true, "192.0.2.7"},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5555}, nil)
		for i := 0; i+1 < len(c.headers); i += 2 {
			ctx.Request.Header.Set(c.headers[i], c.headers[i+1])
		}
		if got := ClientKey(&ctx, c.trustForwarded); got != c.want {
			t.Errorf("ClientKey(%q, trust %v) = %q, want %q", c.headers, c.trustForwarded, got, c.want)
		}
	}
}

// TestClientTable: at most max labels; an idle client gives its place up
// (and its series are deleted); "other" for the rest.
func TestClientTable(t *testing.T) {
	var evicted []string
	tab := newClientTable(2, time.Minute, func(l string) { evicted = append(evicted, l) })
	at := func(d time.Duration) int64 { return int64(time.Hour + d) }
	if tab.label("a", at(0)) != "a" || tab.label("b", at(0)) != "b" {
		t.Fatal("free places not given")
	}
	if got := tab.label("c", at(time.Second)); got != OtherClient {
		t.Errorf("third client = %q, want %q", got, OtherClient)
	}
	tab.label("a", at(50*time.Second)) // a stays busy, b goes idle
	if got := tab.label("c", at(70*time.Second)); got != "c" || !slices.Equal(evicted, []string{"b"}) {
		t.Errorf("after b went idle: c = %q, evicted %v", got, evicted)
	}
	if got := tab.label("d", at(71*time.Second)); got != OtherClient {
		t.Errorf("d = %q with no idle place", got)
	}
	if got := tab.label("a", at(72*time.Second)); got != "a" {
		t.Errorf("a lost its place: %q", got)
	}
}

func TestClientRates(t *testing.T) {
	r := newClientRates(10, 3)
	now := int64(time.Hour)
	for i := range 3 {
		if ok, _ := r.take("x", now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, retryIn := r.take("x", now)
	if ok || retryIn <= 0 || retryIn > 100*time.Millisecond {
		t.Errorf("over the burst: ok %v, retry in %v", ok, retryIn)
	}
	if ok, _ := r.take("x", now+int64(100*time.Millisecond)); !ok {
		t.Error("no token after 1/rate")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		s := retryAfterSeconds(2*time.Second, 4*time.Second, 0)
		if s < 2 || s > 4 {
			t.Fatalf("retry after %d outside [2, 4]", s)
		}
		seen[s] = true
	}
	if len(seen) != 3 {
		t.Errorf("drew %v from [2, 4]", seen)
	}
	if s := retryAfterSeconds(time.Second, 2*time.Second, 7500*time.Millisecond); s != 8 {
		t.Errorf("at least 7.5 s: %d", s)
	}
	if s := retryAfterSeconds(0, 0, 0); s != 1 {
		t.Errorf("empty range: %d", s)
	}
}
