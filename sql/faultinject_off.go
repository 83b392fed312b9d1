//go:build !faultinject

package sql

import "context"

// faultAfterCommit is where the fault suite's build stops a writer between
// commit and publish, and faultHoldRelay where it keeps the relay from
// publishing meanwhile (faultinject.go); in every other build they do
// nothing.
func faultAfterCommit() {}

func faultHoldRelay(context.Context) {}
