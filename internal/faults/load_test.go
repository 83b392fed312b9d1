package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lookupLoad is a steady closed-loop lookup load: workers each send one
// lookup after another (keep-alive) and check that the answer holds the
// expected payload URL.
type lookupLoad struct {
	url string // the lookup
	// want is what a lookup must show, read as it begins: one pointer, so
	// that a lookup sees both of its payloads from the same expect call.
	want atomic.Pointer[expectation]
	// retryDial makes a refused connection a retry (counted, after 20 ms)
	// instead of a failure: a client facing a restarting server.
	retryDial bool

	cancel context.CancelFunc
	wg     sync.WaitGroup

	ok, failed, wrong, retries atomic.Int64
	mu                         sync.Mutex
	took                       []time.Duration
	firstFailure               string
}

func startLoad(url, want string, workers int, retryDial bool) *lookupLoad {
	l := &lookupLoad{url: url, retryDial: retryDial}
	l.expect(want, "")
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	tr := &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				l.one(ctx, client)
			}
		}()
	}
	return l
}

func (l *lookupLoad) one(ctx context.Context, client *http.Client) {
	want := *l.want.Load()
	began := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		var op *net.OpError
		if l.retryDial && errors.As(err, &op) && op.Op == "dial" {
			l.retries.Add(1)
			time.Sleep(20 * time.Millisecond)
			return
		}
		l.failed.Add(1)
		l.note(fmt.Sprintf("error: %v", err))
		return
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(began)
	switch {
	case err != nil:
		l.failed.Add(1)
		l.note(fmt.Sprintf("reading the answer: %v", err))
	case res.StatusCode != 200:
		l.failed.Add(1)
		l.note(fmt.Sprintf("HTTP %d: %s", res.StatusCode, b))
	case !bytes.Contains(b, []byte(`"`+want.want+`"`)) && (want.alsoOK == "" || !bytes.Contains(b, []byte(`"`+want.alsoOK+`"`))):
		l.wrong.Add(1)
		l.note(fmt.Sprintf("wrong answer (want %s): %s", want.want, b))
	default:
		l.ok.Add(1)
		l.mu.Lock()
		l.took = append(l.took, took)
		l.mu.Unlock()
	}
}

// expectation is the payload a lookup must show, or alsoOK when that is
// not "" (a write in flight: either answer is right).
type expectation struct{ want, alsoOK string }

// expect sets what the lookups that begin from now on must show.
func (l *lookupLoad) expect(want, alsoOK string) {
	l.want.Store(&expectation{want: want, alsoOK: alsoOK})
}

// answered is how many lookups have been answered so far, right or not.
func (l *lookupLoad) answered() int64 { return l.ok.Load() + l.wrong.Load() + l.failed.Load() }

// note keeps the first failure's description.
func (l *lookupLoad) note(what string) {
	l.mu.Lock()
	if l.firstFailure == "" {
		l.firstFailure = what
	}
	l.mu.Unlock()
}

// stop ends the load and returns its figures; once stopped, it returns
// the same figures again.
func (l *lookupLoad) stop() loadFigures {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.took)
	q := func(p float64) time.Duration {
		if len(l.took) == 0 {
			return 0
		}
		return l.took[int(p*float64(len(l.took)-1))]
	}
	return loadFigures{OK: l.ok.Load(), Failed: l.failed.Load(), Wrong: l.wrong.Load(), Retries: l.retries.Load(),
		P50: q(0.5), P99: q(0.99), Max: q(1), FirstFailure: l.firstFailure}
}

type loadFigures struct {
	OK, Failed, Wrong, Retries int64
	P50, P99, Max              time.Duration
	FirstFailure               string
}

func (f loadFigures) String() string {
	s := fmt.Sprintf("%d lookups answered, %d failed, %d wrong, %d connection retries; p50 %v p99 %v max %v",
		f.OK, f.Failed, f.Wrong, f.Retries, f.P50.Round(10*time.Microsecond), f.P99.Round(10*time.Microsecond), f.Max.Round(time.Millisecond))
	if f.FirstFailure != "" {
		s += "; first failure: " + f.FirstFailure
	}
	return s
}

// wantClean fails the test unless no lookup failed or was wrong.
func (f loadFigures) wantClean(t *testing.T) {
	t.Helper()
	if f.Failed != 0 || f.Wrong != 0 || f.OK == 0 {
		t.Errorf("want every lookup answered right: %s", f)
	}
}
