// Package cache will put Redis (github.com/redis/go-redis/v9) in front of the
// replicas, invalidated on every write, under the freshness contract of
// DESIGN.md. It is empty until the cache work (issue "Redis cache with write
// invalidation"); readers currently answer every request from PostgreSQL.
package cache
