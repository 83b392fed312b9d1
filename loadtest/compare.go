package loadtest

import (
	"context"
	"time"
)

// Compare runs the same workload against every target in turn, in short
// alternating slices (A B A B …), so that all of them share the machine's
// noise; it returns one merged Result per target, in order. o.Duration is
// each target's total measured time; o.Warmup is spent once per target
// before its first slice.
func Compare(ctx context.Context, o RunOptions, targets []string, slices int) ([]*Result, error) {
	if slices <= 0 {
		slices = 5
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	slice := o.Duration / time.Duration(slices)
	out := make([]*Result, len(targets))
	for i := range slices {
		for t, target := range targets {
			so := o
			so.Target, so.Duration, so.Seed = target, slice, o.Seed+uint64(i)
			if i > 0 {
				so.Warmup = 0
			}
			r, err := Run(ctx, so)
			if err != nil {
				return nil, err
			}
			if out[t] == nil {
				out[t] = r
			} else {
				out[t].merge(r)
			}
		}
	}
	return out, nil
}

// Sweep runs the workload open loop at each rate in turn (latency under
// increasing offered load), one Result per rate.
func Sweep(ctx context.Context, o RunOptions, rates []float64) ([]*Result, error) {
	var out []*Result
	for _, rate := range rates {
		so := o
		so.Rate = rate
		r, err := Run(ctx, so)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
