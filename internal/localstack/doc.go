// Package localstack starts the real backing services of condcache on
// loopback: a PostgreSQL primary, streaming replicas cloned from it and,
// optionally, Redis. Both `make run` and the integration tests use it, so the
// local stack and the tested stack are the same code.
//
// Every server is a direct child of the calling process (postgres is run
// with -D, not through pg_ctl, which would daemonize it). Children get a
// parent-death signal, so a crashed or killed test binary does not leave
// servers behind, and they share our process group, so Ctrl-C in a terminal
// reaches them too.
//
// Layout of the state directory:
//
//	<Dir>/primary/      primary data directory
//	<Dir>/replicaN/     replica data directories (re-cloned on every Start)
//	<Dir>/redis/        Redis working directory (nothing is persisted)
//	<Dir>/log/*.log     output of every server and tool, appended per run
//
// A primary data directory left by an earlier run is reused, so `make run`
// keeps its data across restarts.
//
// PostgreSQL refuses to run as root. When the caller is root, the PostgreSQL
// binaries run as the "postgres" OS user, the data directories are chowned to
// it and the state directory is made searchable for it (see account).
package localstack
