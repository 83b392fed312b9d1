// Package pgbouncer holds tests only: condcache through PgBouncer in
// transaction pooling mode, as Nopayloaddb's charts deploy it
// (docs/operations.md "PgBouncer").
package pgbouncer
