// Package e2e holds the end-to-end tests of condcache: the real writer and
// reader binaries, started by the local-stack launcher against a real
// PostgreSQL primary and streaming replica, exercised over HTTP exactly as
// Nopayloaddb's clients use them (docs/compatibility.md "Scope"). It has no non-test code.
package e2e
