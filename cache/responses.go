package cache

import (
	"context"
	"errors"
	"fmt"
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
	if len(res) == 0 {
		return out, errors.New("cache: empty script reply")
	}
	state, _ := res[0].(int64)
	if len(res) > 1 {
		s, _ := res[1].(string)
		if out.Generation, err = strconv.ParseInt(s, 10, 64); err != nil {
			return out, fmt.Errorf("cache: bad generation %q", s)
		}
	}
	switch state {
	case 0:
		out.State = condcache.CacheUnknown
	case 1:
		out.State = condcache.CachePending
	case 2:
		out.State = condcache.CacheMiss
	case 3:
		s, _ := res[2].(string)
		out.State, out.Body = condcache.CacheHit, []byte(s)
	default:
		return out, fmt.Errorf("cache: unexpected state %d", state)
	}
	c.m.responses.WithLabelValues(stateLabels[out.State]).Inc()
	return out, nil
}

var stateLabels = map[condcache.CacheState]string{condcache.CacheUnknown: "unknown",
	condcache.CachePending: "pending", condcache.CacheMiss: "miss", condcache.CacheHit: "hit"}

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
