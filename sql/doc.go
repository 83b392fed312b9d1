// Package sql is condcache's storage layer: the PostgreSQL schema and every
// query, over pgx. It imports no HTTP library.
//
//   - Migrate applies the embedded migrations (migrations/*.sql, via tern):
//     the Nopayloaddb schema, created idempotently so that a database
//     Nopayloaddb already serves is adopted unchanged, plus condcache's
//     additive objects such as the lookup's covering index.
//   - Connect opens a pool with condcache's session settings.
//   - Store (store*.go) implements condcache.WriteService on the primary.
//   - Reader (read*.go, browse*.go) implements condcache.ReadService. Its
//     router (package sql/replica) sends each read to a replica chosen by
//     health, WAL lag and load, and fails over to other replicas and then
//     to the primary when a backend cannot be reached.
//
// Table names are Django's mixed-case ones, always double-quoted, and
// resolve through search_path, as Nopayloaddb's do.
package sql
