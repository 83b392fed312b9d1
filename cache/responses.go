package cache

import (
	"context"
	"strconv"

	"github.com/condcache/condcache"
)

var _ condcache.ResponseCache = (*Cache)(nil)

// GetResponse implements condcache.ResponseCache.
func (c *Cache) GetResponse(ctx context.Context, scope string, key []byte) (condcache.CachedResponse, error) {
	var out condcache.CachedResponse
	var res []any
	err := c.call(ctx, c.o.Timeout, func(ctx context.Context) error {
		var err error
		if scope == condcache.AllScope {
			res, err = getAllScript.Run(ctx, c.rdb, []string{epochKey, allCounterKey, allPendingKey, allResponsesKey},
				nowMs(), key).Slice()
		} else {
			gen, _, _ := genKeys(scope)
			res, err = getResponseScript.Run(ctx, c.rdb, []string{epochKey, gen, responsesKey(scope)}, nowMs(), key).Slice()
		}
		return err
	})
	if err != nil {
		c.m.responses.WithLabelValues("error").Inc()
		return out, err
	}
	r, err := parseReply(res)
	if err != nil {
		return out, err
	}
	out.State, out.Generation = r.state, r.gen
	if r.state == condcache.CacheHit {
		out.Body = []byte(r.str(0))
	}
	c.m.responses.WithLabelValues(stateLabels[out.State]).Inc()
	return out, nil
}

// FillResponse implements condcache.ResponseCache.
func (c *Cache) FillResponse(ctx context.Context, scope string, key []byte, generation int64, body []byte) (bool, error) {
	var stored int64
	err := c.call(ctx, c.o.Timeout, func(ctx context.Context) error {
		var err error
		gen, ttl := strconv.FormatInt(generation, 10), c.o.TTL.Milliseconds()
		if scope == condcache.AllScope {
			stored, err = fillAllScript.Run(ctx, c.rdb, []string{epochKey, allCounterKey, allPendingKey, allResponsesKey},
				gen, nowMs(), key, body, ttl).Int64()
		} else {
			g, _, _ := genKeys(scope)
			stored, err = fillResponseScript.Run(ctx, c.rdb, []string{epochKey, g, responsesKey(scope)},
				gen, nowMs(), key, body, ttl).Int64()
		}
		return err
	})
	switch {
	case err != nil:
		c.m.fills.WithLabelValues("error").Inc()
	case stored == 1:
		c.m.fills.WithLabelValues("stored").Inc()
	default:
		c.m.fills.WithLabelValues("skipped").Inc()
	}
	return stored == 1, err
}
