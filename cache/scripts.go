package cache

import "github.com/redis/go-redis/v9"

// The scripts run atomically in Redis, so each check-then-act below is one
// step no other client can interleave with. Generations travel as decimal
// strings and are compared with tonumber: exact below 2^53.

// syncedLua is true when Redis holds the epoch and the epoch was set on
// this very server: its value is the master replication ID the server had
// when a resync finished (finishResyncScript). A restarted Redis has no
// epoch; a replica promoted by a failover (Sentinel, REPLICAOF NO ONE)
// holds the epoch it copied from its old master, but has a replication ID
// of its own, so the copy does not count and the promoted server is
// unknown until a resync, exactly like a restarted one: what the old
// master acknowledged and did not replicate (marks, publishes) cannot be
// missed (docs/design.md "Redis failover"). It expects the epoch key.
const syncedLua = `
local function replid()
	return string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
end
local function synced(k)
	local e = redis.call('GET', k)
	return e ~= false and e == replid()
end
`

// pendingLua is true when a write's mark is above the published generation
// and has not expired. It expects h = HMGET gen g p pt and now = ARGV[1].
const pendingLua = `
local function pending(h, now)
	return h[2] and tonumber(h[2]) > tonumber(h[1] or '0') and tonumber(h[3] or '0') > tonumber(now)
end
`

// getScript: KEYS epoch, gen, w, v; ARGV now, lex max, lex min, point hex.
// Returns {0} unknown, {1, g} pending, {2, g} miss, {3, g, value, member,
// m} hit, m being how many marks the GT has had (see stateScript).
var getScript = redis.NewScript(syncedLua + pendingLua + `
if not synced(KEYS[1]) then return {0} end
local h = redis.call('HMGET', KEYS[2], 'g', 'p', 'pt')
local g = h[1] or '0'
if pending(h, ARGV[1]) then return {1, g} end
local m = redis.call('ZREVRANGEBYLEX', KEYS[3], ARGV[2], ARGV[3], 'LIMIT', 0, 1)
if #m == 0 or string.sub(m[1], -32) <= ARGV[4] then return {2, g} end
local v = redis.call('HGET', KEYS[4], m[1])
if not v then return {2, g} end
return {3, g, v, m[1], redis.call('HGET', KEYS[2], 'm') or '0'}
`)

// stateScript: KEYS epoch, gen; ARGV now. Whether a reader's copy of an
// answer of generation g, taken after the GT's m-th mark, is still what
// Redis would serve: {0} unknown, {1, g} pending, {2, g, m} current. The
// mark count matters when a write's mark expired without its publish: its
// mark deleted the GT's entries, so copies from before it must go too,
// although the generation is unchanged.
var stateScript = redis.NewScript(syncedLua + pendingLua + `
if not synced(KEYS[1]) then return {0} end
local h = redis.call('HMGET', KEYS[2], 'g', 'p', 'pt', 'm')
local g = h[1] or '0'
if pending(h, ARGV[1]) then return {1, g} end
return {2, g, h[4] or '0'}
`)

// fillScript: KEYS epoch, gen, w, v; ARGV generation, now, member, value,
// ttl ms. Stores only while generation is the published one and no write is
// pending. Returns 0 when refused, else 1 + the GT's mark count.
var fillScript = redis.NewScript(syncedLua + pendingLua + `
if not synced(KEYS[1]) then return 0 end
local h = redis.call('HMGET', KEYS[2], 'g', 'p', 'pt', 'm')
if h[1] ~= ARGV[1] or pending(h, ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[3], 0, ARGV[3])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
if redis.call('PTTL', KEYS[4]) < 0 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
return 1 + tonumber(h[4] or '0')
`)

// noticeLua tells the readers holding leases that GT ARGV[n] changed
// (lease.go): it numbers the change in KEYS[k] and publishes
// "<number> <gt>", gt being ARGV[n], on the invalidation channel ARGV[n+1]
// (one per Redis database: channels are server-wide); readers drop their
// copies of the GT and acknowledge the number. It defines notice(k, n),
// which returns the number.
const noticeLua = `
local function notice(k, n)
	local s = redis.call('INCR', KEYS[k])
	redis.call('PUBLISH', ARGV[n + 1], s .. ' ' .. ARGV[n])
	return s
end
`

// markScript: KEYS gen, w, v, r, notice counter; ARGV generation, deadline
// ms, GT name, channel. Raises the pending mark, drops the GT's entries and tells
// the readers; returns the notice's number.
var markScript = redis.NewScript(noticeLua + `
local h = redis.call('HMGET', KEYS[1], 'p', 'pt')
local p = math.max(tonumber(h[1] or '0'), tonumber(ARGV[1]))
local pt = math.max(tonumber(h[2] or '0'), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'p', string.format('%d', p), 'pt', string.format('%d', pt))
redis.call('HINCRBY', KEYS[1], 'm', 1)
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return notice(5, 3)
`)

// markAllScript: KEYS all pending, all responses; ARGV generation, deadline
// ms. Adds the write to the all scope's pending set (one member per
// outbox row: see sql/migrations/005) and drops the scope's entries.
var markAllScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`)

// acceptLua refuses a publish unless Redis holds the epoch or the resync
// the publish belongs to (a restarted, empty Redis takes nothing until a
// resync reads the database afresh). It expects KEYS[1] epoch, KEYS[2]
// resync and ARGV[2] the resync token ("" = none). Like every script that consults the epoch, it
// takes the promoted replica of a failover for a restarted Redis.
//
// The resync key holds the token, a colon and the replication ID of the
// server the resync began on (startResyncScript); a publish with a token
// checks only the token, finishResyncScript checks both.
const acceptLua = syncedLua + `
if ARGV[2] ~= '' then
	local r = redis.call('GET', KEYS[2])
	if not r or string.sub(r, 1, #ARGV[2] + 1) ~= ARGV[2] .. ':' then return -1 end
elseif not synced(KEYS[1]) and redis.call('EXISTS', KEYS[2]) == 0 then
	return -1
end
`

// publishScript: KEYS epoch, resync, gen, w, v, r, notice counter; ARGV
// generation, resync token, GT name, channel. Raises the published generation
// (dropping the GT's entries) and clears a mark it covers, telling the
// readers of either (a write by plain SQL reaches Redis only this way).
// Returns -1 when refused.
var publishScript = redis.NewScript(acceptLua + noticeLua + `
local gen = tonumber(ARGV[1])
local g = tonumber(redis.call('HGET', KEYS[3], 'g') or '-1')
local changed = false
if gen > g then
	redis.call('HSET', KEYS[3], 'g', ARGV[1])
	redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
	g = gen
	changed = true
end
local p = redis.call('HGET', KEYS[3], 'p')
if p and tonumber(p) <= g then
	redis.call('HDEL', KEYS[3], 'p', 'pt')
	changed = true
end
if changed then notice(7, 3) end
return 1
`)

// publishAllScript: KEYS epoch, resync, all counter, all pending, all
// responses; ARGV generation, resync token, now ms. Every publish counts
// (writes to the all scope commit in any order, so no generation stands for
// another): it raises the counter, drops the scope's entries, and clears
// this write's own pending member and any expired ones. Returns -1 when
// refused.
var publishAllScript = redis.NewScript(acceptLua + `
redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[5])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[3])
return 1
`)

// getResponseScript: KEYS epoch, gen, r; ARGV now, request key. A GT
// scope's read: {0} unknown, {1, g} pending, {2, g} miss, {3, g, body}.
var getResponseScript = redis.NewScript(syncedLua + pendingLua + `
if not synced(KEYS[1]) then return {0} end
local h = redis.call('HMGET', KEYS[2], 'g', 'p', 'pt')
local g = h[1] or '0'
if pending(h, ARGV[1]) then return {1, g} end
local v = redis.call('HGET', KEYS[3], ARGV[2])
if not v then return {2, g} end
return {3, g, v}
`)

// fillResponseScript: KEYS epoch, gen, r; ARGV generation, now, request
// key, body, ttl ms. Stores only at the published generation with no write
// pending. Returns 1 when stored.
var fillResponseScript = redis.NewScript(syncedLua + pendingLua + `
if not synced(KEYS[1]) then return 0 end
local h = redis.call('HMGET', KEYS[2], 'g', 'p', 'pt')
if (h[1] or '0') ~= ARGV[1] or pending(h, ARGV[2]) then return 0 end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
return 1
`)

// getAllScript: KEYS epoch, all counter, all pending, all responses; ARGV
// now, request key. The all scope's read, answering like
// getResponseScript: pending while any write's member is unexpired.
var getAllScript = redis.NewScript(syncedLua + `
if not synced(KEYS[1]) then return {0} end
local g = redis.call('GET', KEYS[2]) or '0'
if redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[1], '+inf') > 0 then return {1, g} end
local v = redis.call('HGET', KEYS[4], ARGV[2])
if not v then return {2, g} end
return {3, g, v}
`)

// fillAllScript: KEYS epoch, all counter, all pending, all responses; ARGV
// counter, now, request key, body, ttl ms.
var fillAllScript = redis.NewScript(syncedLua + `
if not synced(KEYS[1]) then return 0 end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
if redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[2], '+inf') > 0 then return 0 end
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[4]) < 0 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
return 1
`)

// syncedScript: KEYS epoch. 1 when the epoch is this server's (see
// syncedLua), else 0.
var syncedScript = redis.NewScript(syncedLua + `
if synced(KEYS[1]) then return 1 end
return 0
`)

// startResyncScript: KEYS resync; ARGV token, ttl ms. Opens a resync on
// this server: the key holds the token and the server's replication ID.
var startResyncScript = redis.NewScript(syncedLua + `
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. replid(), 'PX', ARGV[2])
return 1
`)

// finishResyncScript: KEYS epoch, resync, all counter; ARGV token, now ms.
// Sets the epoch (to this server's replication ID) if the resync is still
// the current one and began on this server: Redis did not restart
// meanwhile, and no failover promoted a replica that may lack some of the
// resync's publishes. The all scope's counter lives only in Redis, so a
// restart would begin it again at 0 and a fill prepared before the restart
// could match a value counted after it: it restarts from the clock instead
// (ms·1000, above anything counted since an earlier resync, and exact in
// Lua's doubles).
var finishResyncScript = redis.NewScript(syncedLua + `
local id = replid()
if redis.call('GET', KEYS[2]) ~= ARGV[1] .. ':' .. id then return -1 end
redis.call('SET', KEYS[1], id)
redis.call('DEL', KEYS[2])
local c = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('SET', KEYS[3], string.format('%d', math.max(c + 1, tonumber(ARGV[2]) * 1000)))
return 1
`)
