package admission

import (
	"bytes"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// HeaderClient names the client in requests (a batch job, a task, a
// service) so metrics and rate limits can tell clients apart that share an
// address (many jobs on one worker node, or everything behind a NAT).
// Clients that do not send it are known by their address.
const HeaderClient = "X-Condcache-Client"

// clientHeaders are read in order; the first non-empty one names the
// client. X-Job-ID is accepted because some job wrappers already send it;
// there is no standard header for batch job ids.
var clientHeaders = []string{HeaderClient, "X-Job-ID"}

// maxClientKey bounds a client name taken from a header.
const maxClientKey = 64

// OtherClient is the metrics label of every client beyond the tracked ones.
const OtherClient = "other"

// ClientKey returns who sent the request: a client header, sanitised, else
// the peer address, or with trustForwarded the last X-Forwarded-For entry
// (the one the nearest proxy appended, so a client cannot choose it).
// A header is the client's own claim: it attributes load, it does not
// authenticate anyone.
func ClientKey(ctx *fasthttp.RequestCtx, trustForwarded bool) string {
	var buf [maxClientKey]byte
	return string(appendClientKey(buf[:0], ctx, trustForwarded))
}

// appendClientKey appends ClientKey to dst, without allocating for the
// common cases.
func appendClientKey(dst []byte, ctx *fasthttp.RequestCtx, trustForwarded bool) []byte {
	for _, h := range clientHeaders {
		if v := bytes.TrimSpace(ctx.Request.Header.Peek(h)); len(v) > 0 {
			return appendSanitized(dst, v)
		}
	}
	if trustForwarded {
		xff := ctx.Request.Header.Peek(fasthttp.HeaderXForwardedFor)
		if i := bytes.LastIndexByte(xff, ','); i >= 0 {
			xff = xff[i+1:]
		}
		if ip, err := netip.ParseAddr(string(bytes.TrimSpace(xff))); err == nil {
			return ip.Unmap().AppendTo(dst)
		}
	}
	if addr, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		return addr.Unmap().AppendTo(dst)
	}
	return append(dst, ctx.RemoteIP().String()...)
}

// appendSanitized appends v, which is not blank, usable as a metrics label
// and in logs: at most maxClientKey bytes of [A-Za-z0-9._:/@+-], anything
// else replaced by '_'.
func appendSanitized(dst, v []byte) []byte {
	if len(v) > maxClientKey {
		v = v[:maxClientKey]
	}
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == ':', c == '/', c == '@', c == '+', c == '-':
			dst = append(dst, c)
		default:
			dst = append(dst, '_')
		}
	}
	return dst
}

// clientTable bounds the client label values of the metrics: up to max
// clients get a label of their own, first come first served; the others
// share OtherClient. A client not seen for idle gives its place up (its
// series are deleted through onEvict), so a long-running server follows
// who its clients are now, and a flood of made-up names costs nothing but
// the "other" series.
type clientTable struct {
	max     int
	idle    time.Duration
	onEvict func(label string)

	mu   sync.RWMutex
	seen map[string]*atomic.Int64 // label → last seen, unix ns
	// noSweepUntil: the table was full with nobody idle at the last sweep;
	// the next sweep waits until then, so unknown clients do not each
	// scan the table.
	noSweepUntil int64
}

func newClientTable(max int, idle time.Duration, onEvict func(string)) *clientTable {
	return &clientTable{max: max, idle: idle, onEvict: onEvict, seen: make(map[string]*atomic.Int64, max)}
}

// label returns the label of client key at time now (unix ns), marking it
// seen. Call it right before using the label: a label only goes away after
// idle without a call.
func (t *clientTable) label(key string, now int64) string {
	t.mu.RLock()
	last, ok := t.seen[key]
	t.mu.RUnlock()
	if ok {
		last.Store(now)
		return key
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.seen[key]; ok {
		last.Store(now)
		return key
	}
	if len(t.seen) >= t.max && !t.evictIdle(now) {
		return OtherClient
	}
	last = new(atomic.Int64)
	last.Store(now)
	t.seen[key] = last
	return key
}

// evictIdle frees the places of clients idle for t.idle and reports
// whether it freed any. t.mu is held.
func (t *clientTable) evictIdle(now int64) bool {
	if now < t.noSweepUntil {
		return false
	}
	freed := false
	for k, last := range t.seen {
		if now-last.Load() >= int64(t.idle) {
			delete(t.seen, k)
			if t.onEvict != nil {
				t.onEvict(k)
			}
			freed = true
		}
	}
	if !freed {
		t.noSweepUntil = now + int64(time.Second)
	}
	return freed
}
