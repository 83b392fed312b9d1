package cache

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/condcache/condcache"
)

// reply is what the get-like scripts answer: {state, generation, more…},
// the state being 0 unknown, 1 pending, 2 miss (stateScript: current) or
// 3 hit, and more the script's own values.
type reply struct {
	state condcache.CacheState
	gen   int64
	more  []any
}

var replyStates = [...]condcache.CacheState{condcache.CacheUnknown, condcache.CachePending, condcache.CacheMiss, condcache.CacheHit}

var errEmptyReply = errors.New("cache: empty script reply")

func parseReply(res []any) (reply, error) {
	var r reply
	if len(res) == 0 {
		return r, errEmptyReply
	}
	code, _ := res[0].(int64)
	if code < 0 || int(code) >= len(replyStates) {
		return r, fmt.Errorf("cache: unexpected state %d", code)
	}
	r.state = replyStates[code]
	if len(res) > 1 {
		s, _ := res[1].(string)
		g, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return r, fmt.Errorf("cache: bad generation %q", s)
		}
		r.gen, r.more = g, res[2:]
	}
	return r, nil
}

// str returns the i-th of the script's own values as a string ("" when
// absent).
func (r reply) str(i int) string {
	if i >= len(r.more) {
		return ""
	}
	s, _ := r.more[i].(string)
	return s
}

// stateLabels names the states in metrics.
var stateLabels = map[condcache.CacheState]string{condcache.CacheUnknown: "unknown",
	condcache.CachePending: "pending", condcache.CacheMiss: "miss", condcache.CacheHit: "hit"}
