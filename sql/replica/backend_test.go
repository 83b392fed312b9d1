package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/condcache/condcache"
)

func TestClassify(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(live)
	cancel()
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want failure
	}{
		{"application error", live, condcache.Errorf(condcache.ENotFound, "Not found."), failAnswer},
		{"caller gave up", cancelled, io.EOF, failAnswer},
		{"bad input", live, pg("22P02"), failAnswer},
		{"numeric overflow", live, pg("22003"), failAnswer},
		{"a bug in a statement", live, pg("42P01"), failAnswer},
		{"scan error", live, errors.New("can't scan into dest[0]"), failAnswer},
		{"admin shutdown", live, pg("57P01"), failBackend},
		{"starting up", live, pg("57P03"), failBackend},
		{"too many connections", live, pg("53300"), failBackend},
		{"connection failure", live, pg("08006"), failBackend},
		{"connect error", live, &pgconn.ConnectError{}, failBackend},
		{"EOF", live, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), failBackend},
		{"network", live, &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, failBackend},
		{"closed conn", live, fmt.Errorf("x: %w", pgconn.ErrConnClosed), failBackend},
		{"connect timeout", live, fmt.Errorf("dial: %w", context.DeadlineExceeded), failBackend},
		{"recovery conflict", live, pg("40001"), failQuery},
		{"statement timeout", live, pg("57014"), failQuery},
		{"database missing here", live, pg("3D000"), failQuery},
		{"out of memory", live, pg("53200"), failQuery},
	}
	for _, tc := range tests {
		if got := classify(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: classify(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestLSNHistory(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := lsnHistory{keep: time.Second}
	if _, ok := h.newest(); ok {
		t.Fatal("newest of an empty history")
	}
	for i, lsn := range []int64{100, 200, 200, 300} {
		h.add(lsnSample{at: t0.Add(time.Duration(i) * 400 * time.Millisecond), lsn: lsn})
	}
	// The sample at t0 is older than keep relative to the newest (1.2s).
	if len(h.samples) != 3 {
		t.Errorf("%d samples kept, want 3", len(h.samples))
	}
	for _, tc := range []struct {
		lsn    int64
		ok     bool
		wantAt time.Duration
	}{
		{99, false, 0},
		{150, false, 0}, // only dropped samples are that old
		{200, true, 800 * time.Millisecond},
		{299, true, 800 * time.Millisecond},
		{300, true, 1200 * time.Millisecond},
		{1 << 40, true, 1200 * time.Millisecond},
	} {
		s, ok := h.reachedBy(tc.lsn)
		if ok != tc.ok || (ok && !s.at.Equal(t0.Add(tc.wantAt))) {
			t.Errorf("reachedBy(%d) = %v, %v; want %v at +%v", tc.lsn, s, ok, tc.ok, tc.wantAt)
		}
	}
}

func TestBackendUsable(t *testing.T) {
	now := time.Now()
	maxLag := time.Second
	replica := func(healthy, standby bool, caughtUp time.Time) *backend {
		b := &backend{}
		b.healthy.Store(healthy)
		b.standby.Store(standby)
		if !caughtUp.IsZero() {
			b.caughtUp.Store(caughtUp.UnixNano())
		}
		return b
	}
	tests := []struct {
		name string
		b    *backend
		want bool
	}{
		{"primary, even when down", &backend{primary: true}, true},
		{"caught up recently", replica(true, true, now.Add(-500*time.Millisecond)), true},
		{"caught up exactly MaxLag ago", replica(true, true, now.Add(-maxLag)), true},
		{"lagging", replica(true, true, now.Add(-maxLag-time.Millisecond)), false},
		{"never caught up", replica(true, true, time.Time{}), false},
		{"down", replica(false, true, now), false},
		{"promoted", replica(true, false, now), false},
	}
	for _, tc := range tests {
		if got := tc.b.usable(now.UnixNano(), maxLag); got != tc.want {
			t.Errorf("%s: usable = %v, want %v", tc.name, got, tc.want)
		}
	}
	b := &backend{}
	b.advanceCaughtUp(now)
	b.advanceCaughtUp(now.Add(-time.Second))
	if b.caughtUp.Load() != now.UnixNano() {
		t.Error("advanceCaughtUp moved back in time")
	}
}

func TestRouterPick(t *testing.T) {
	now := time.Now()
	mk := func(name string, load int64, usable bool) *backend {
		b := &backend{name: name}
		b.healthy.Store(usable)
		b.standby.Store(true)
		b.caughtUp.Store(now.UnixNano())
		b.inFlight.Store(load)
		return b
	}
	primary := &backend{name: "primary", primary: true}
	r1, r2, r3 := mk("r1", 3, true), mk("r2", 1, true), mk("r3", 0, false)
	rt := &Router{opts: Options{MaxLag: time.Minute}, primary: primary, replicas: []*backend{r1, r2, r3}}

	// The least-loaded usable replica, whatever the round-robin start.
	for range 5 {
		if b := rt.pick(nil, 0); b != r2 {
			t.Fatalf("pick = %s, want r2 (least loaded; r3 unusable)", b.name)
		}
	}
	if b := rt.pick([]*backend{r2}, 0); b != r1 {
		t.Errorf("pick after r2 failed = %s, want r1", b.name)
	}
	if b := rt.pick([]*backend{r2, r1}, 0); b != primary {
		t.Errorf("pick after both replicas failed = %s, want the primary", b.name)
	}
	if b := rt.pick([]*backend{r2, r1, primary}, 0); b != nil {
		t.Errorf("pick after everything failed = %s, want none", b.name)
	}

	// Equal loads are spread round robin.
	r1.inFlight.Store(0)
	r2.inFlight.Store(0)
	seen := map[string]int{}
	for range 10 {
		seen[rt.pick(nil, 0).name]++
	}
	if seen["r1"] != 5 || seen["r2"] != 5 {
		t.Errorf("equal loads picked %v, want an even spread", seen)
	}
}
