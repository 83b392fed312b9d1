// Package faults holds the fault suite (issue 5): integration tests that
// start a stack of their own (PostgreSQL primary and replica, Redis, the
// condcache writer and reader as child processes), hold a steady load,
// inject one fault (a process killed, frozen or restarted), and check that
// no lookup failed or was wrong and that nothing written was lost, doubled
// or half-applied. Each test logs the load it held, the errors it saw and
// the data it checked; README.md "Reliability" summarises them.
package faults
