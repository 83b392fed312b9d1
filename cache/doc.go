// Package cache keeps lookup answers and the other read answers in Redis
// (github.com/redis/go-redis/v9) under the freshness contract (docs/design.md "Freshness contract"),
// and tells Redis about writes.
//
// # Keys
//
// Per GT name N (the name is the key's last part, so names never collide;
// the braces make every key of one GT hash to the same cluster slot):
//
//	cc:gen:{N}  hash: g = the newest generation published for N; p, pt = the
//	            highest generation marked by a write not yet published, and
//	            until when (unix ms) that mark holds; m = how many marks N
//	            has had (a reader's local copy is valid only at the g and m
//	            it was taken at; see local.go)
//	cc:w:{N}    sorted set (all scores 0, ordered by member): one member per
//	            cached answer, shape byte + window start + window end, each a
//	            32-hex-digit condcache.CombKey
//	cc:v:{N}    hash: member → encoded answer (status, window, body)
//	cc:r:{N}    hash: request URI → body, the GT's other cached reads
//	            (globalTag/N, gtPayloadLists/N)
//
// the all scope (condcache.AllScope: every other cached read, such as the
// GT, type and IOV listings and reads by id):
//
//	cc:all:g    a counter raised by every publish of the scope
//	cc:all:p    sorted set: one member per write in flight (its outbox
//	            generation), scored by until when (unix ms) its mark holds
//	cc:all:r    hash: request URI → body
//
// and two global keys: cc:epoch, present once Redis holds the generation of
// every GT (written by Resync), and cc:resync, the token of a resync in
// progress.
//
// # The all scope
//
// A GT's generations commit in order (its generation row is locked), so a
// published generation stands for every lower one. Writes to the all scope
// share no lock (one would serialise every write of the database), so they
// may commit out of generation order: each is marked and published by its
// own generation, every publish raises the scope's counter and drops its
// entries, and the scope is pending while any write's mark is unpublished
// and unexpired. A fill is a compare-and-set on the counter. The answers
// themselves come from a backend that has replayed the primary's WAL as of
// after the get, so they are never older than what the counter stands for.
//
// # Why windows
//
// A lookup's answer is the same for every point between the greatest start
// of the IOVs it selects and the next IOV start of any attached list (its
// window, computed by the SQL with the answer). Entries are keyed by window,
// not by point: a farm asking one GT for thousands of (run, subrun) points
// inside one window fills one entry and then hits it, where a per-point
// cache would miss on every new point. A hit is one Redis round trip: a Lua
// script reads the GT's generation state, finds the greatest window start at
// or before the point (ZREVRANGEBYLEX ... LIMIT 0 1), checks that the
// window's end lies after the point, and returns the answer.
//
// # Freshness
//
//   - Only generation g's answers are ever stored: a fill is a compare-and-
//     set against cc:gen:{N}.g (a Lua script), and raising g deletes the
//     GT's entries in the same script. A reader whose replica returned a
//     lower generation than g skips that replica, so it never serves or
//     stores an answer older than a published write (freshness point 2).
//   - A write marks its GTs before commit (entries dropped, fills refused,
//     readers sent to the latest state) and publishes them after commit,
//     before it is acknowledged; if Redis cannot take the mark, the write is
//     refused before commit (point 3). A publish that fails after commit
//     leaves the mark in place and the outbox row for the relay.
//   - Readers trust Redis only while cc:epoch exists and holds the
//     server's own master replication ID (set by Resync). Redis runs
//     without persistence, so a restarted Redis is empty: no epoch, every
//     read goes to the latest state and nothing is stored until Resync has
//     published every GT's generation from the database (read after the
//     restart). A replica promoted by a failover holds its old master's
//     epoch, which names another replication ID: it is unknown too, until
//     a Resync on it (docs/design.md "Redis failover").
//     Publishes are accepted only while the epoch or a resync exists, and
//     never lower a generation.
//   - Generations come from one database sequence and are kept per name
//     forever, so a GT deleted and re-created under the same name starts
//     above anything cached for the old one (point 4).
//   - Entries expire after a TTL, counted from the first fill of a
//     generation, which caps the damage of anything missed.
//
// Redis must be a single server (or a Sentinel-managed primary) run without
// persistence (no RDB, no AOF) and with an eviction policy that spares keys
// without a TTL (volatile-lru, or noeviction): the generation hashes must
// not be evicted while entries are.
package cache
