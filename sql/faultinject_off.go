//go:build !faultinject

package sql

// faultAfterCommit is where the fault suite's build stops a writer between
// commit and publish (faultinject.go); in every other build it does nothing.
func faultAfterCommit() {}
