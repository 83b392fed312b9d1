// Package testkit is the plumbing the tests of every package share:
// polling until a condition holds (Eventually), a TestMain that starts the
// local stack (Main), a Redis of its own for tests that need no PostgreSQL
// (StartRedis), a concurrency-safe log buffer (Buffer), serving an
// in-process server for a test (Serve), and the servers' lifecycle checks
// (CheckShutdown, WaitRefused, FreePort).
//
// Only _test.go files import it (.ci/check-layers checks this): the
// shipped binary never links it.
package testkit
