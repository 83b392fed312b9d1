package testkit

import (
	"errors"
	"testing"
	"time"
)

// DefaultPoll is how often Eventually and EventuallyNil check.
const DefaultPoll = 10 * time.Millisecond

// Eventually checks cond every DefaultPoll until it holds, and returns how
// long that took. When it still does not hold after within, the test fails
// (Fatal) with what, the description of the condition.
//
// cond runs on the calling goroutine, so it may fail the test itself. In a
// testing/synctest bubble the wait is on the bubble's fake clock.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return Poller(DefaultPoll).Eventually(t, within, what, cond)
}

// EventuallyNil is Eventually for a check that says what is still missing:
// it polls check every DefaultPoll until it returns nil; on time-out the
// test fails with what and check's last error.
func EventuallyNil(t testing.TB, within time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	return Poller(DefaultPoll).EventuallyNil(t, within, what, check)
}

// Poller is Eventually and EventuallyNil at another interval, for checks
// that cost something (a request, a write, a VACUUM) each time:
// Poller(100*time.Millisecond).Eventually(...).
type Poller time.Duration

// Eventually is Eventually, checking every p.
func (p Poller) Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	took, err := p.poll(within, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
	if err != nil {
		t.Fatalf("%s: not within %v", what, within)
	}
	return took
}

// EventuallyNil is EventuallyNil, checking every p.
func (p Poller) EventuallyNil(t testing.TB, within time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	took, err := p.poll(within, check)
	if err != nil {
		t.Fatalf("%s: not within %v: %v", what, within, err)
	}
	return took
}

var errNotYet = errors.New("not yet")

// poll runs check every p until it returns nil or within has passed since
// the first check; it returns the time taken and check's last error.
func (p Poller) poll(within time.Duration, check func() error) (time.Duration, error) {
	start := time.Now()
	for {
		err := check()
		if err == nil || time.Since(start) >= within {
			return time.Since(start), err
		}
		time.Sleep(time.Duration(p))
	}
}
