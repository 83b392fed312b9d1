// Package relay delivers the invalidation outbox to the cache: rows queued
// by writes made behind the writer's back (plain SQL, a Nopayloaddb server
// sharing the database), and rows the writer could not publish itself
// because Redis was unreachable (docs/design.md "Point 3: no lost invalidations"). It also
// rebuilds Redis's generations after Redis restarted empty.
package relay

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/condcache/condcache"
)

// Outbox is the database side (sql.Outbox).
type Outbox interface {
	Pending(ctx context.Context) ([]condcache.Invalidation, error)
	Generations(ctx context.Context) ([]condcache.Invalidation, error)
	Delivered(ctx context.Context, invs []condcache.Invalidation) error
	Listen(ctx context.Context, wake func()) error
}

// Cache is the Redis side (cache.Cache).
type Cache interface {
	Publish(ctx context.Context, invs []condcache.Invalidation) error
	Synced(ctx context.Context) (bool, error)
	Resync(ctx context.Context, generations func(context.Context) ([]condcache.Invalidation, error)) error
}

// DefaultInterval is how often the relay looks even without a notification
// (a NOTIFY is lost while the listening connection is down).
const DefaultInterval = time.Second

// Relay moves invalidations from the outbox to the cache.
type Relay struct {
	outbox   Outbox
	cache    Cache // nil: no cache, the outbox is only emptied
	log      *slog.Logger
	interval time.Duration
	kick     chan struct{}
	pending  prometheus.Gauge
}

// New returns a Relay; cache may be nil. reg (may be nil) receives its
// metrics.
func New(outbox Outbox, cache Cache, log *slog.Logger, reg prometheus.Registerer) *Relay {
	if log == nil {
		log = slog.Default()
	}
	r := &Relay{outbox: outbox, cache: cache, log: log, interval: DefaultInterval,
		kick: make(chan struct{}, 1),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "condcache_invalidations_pending",
			Help: "GTs whose invalidations wait in the outbox for Redis, as of the relay's last pass.",
		})}
	if reg != nil {
		reg.MustRegister(r.pending)
	}
	return r
}

// Kick asks for a pass as soon as possible.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	go r.listen(ctx)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	failing := false
	for {
		err := r.pass(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			r.log.Warn("invalidation relay: will retry", "err", err)
			failing = true
		case err == nil && failing:
			r.log.Info("invalidation relay: delivering again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// listen keeps a LISTEN connection open and kicks on every notification.
func (r *Relay) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := r.outbox.Listen(ctx, r.Kick)
		if ctx.Err() != nil {
			return
		}
		r.log.Debug("invalidation relay: listen connection lost", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(r.interval):
		}
	}
}

// pass resynchronises Redis if it lost its state, then delivers the
// outbox.
func (r *Relay) pass(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if r.cache != nil {
		synced, err := r.cache.Synced(ctx)
		if err != nil {
			return err
		}
		if !synced {
			if err := r.cache.Resync(ctx, r.outbox.Generations); err != nil {
				return err
			}
			r.log.Info("invalidation relay: Redis resynchronised from the database")
		}
	}
	invs, err := r.outbox.Pending(ctx)
	if err != nil {
		return err
	}
	r.pending.Set(float64(len(invs)))
	if len(invs) == 0 {
		return nil
	}
	if r.cache != nil {
		if err := r.cache.Publish(ctx, invs); err != nil {
			return err
		}
	}
	if err := r.outbox.Delivered(ctx, invs); err != nil {
		return err
	}
	r.pending.Set(0)
	return nil
}
