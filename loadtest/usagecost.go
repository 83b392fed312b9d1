package loadtest

import (
	"context"
	"fmt"
	"slices"
)

// UsageCost is the cost of access accounting on cache hits
// (docs/design.md "Access accounting"): the same workload against a
// reader that counts and one that does not, sharing one Redis, in
// alternating slices; the ratio of throughputs per slice pair, and its
// median.
type UsageCost struct {
	Off, On     *Result   // merged over the slices
	Ratios      []float64 // on / off, slice by slice
	MedianRatio float64
}

func (u UsageCost) String() string {
	return fmt.Sprintf("access accounting on cache hits: %.0f lookups/s counted, %.0f not counted; median ratio over %d slice pairs %.3f (min %.3f, max %.3f)",
		u.On.Throughput, u.Off.Throughput, len(u.Ratios), u.MedianRatio, slices.Min(u.Ratios), slices.Max(u.Ratios))
}

// MeasureUsageCost runs o against off and on in turn, pairs times.
func MeasureUsageCost(ctx context.Context, o RunOptions, off, on string, pairs int) (UsageCost, error) {
	var out UsageCost
	for i := range pairs {
		var r [2]*Result
		// Alternate which goes first, so that neither always runs on a
		// warmer (or noisier) machine.
		order := []int{0, 1}
		if i%2 == 1 {
			order = []int{1, 0}
		}
		for _, k := range order {
			so := o
			so.Target, so.Seed = []string{off, on}[k], o.Seed+uint64(i)
			if i > 0 {
				so.Warmup = 0
			}
			res, err := Run(ctx, so)
			if err != nil {
				return out, err
			}
			r[k] = res
		}
		for k, dst := range []**Result{&out.Off, &out.On} {
			if *dst == nil {
				*dst = r[k]
			} else {
				(*dst).merge(r[k])
			}
		}
		out.Ratios = append(out.Ratios, r[1].Throughput/r[0].Throughput)
	}
	sorted := slices.Sorted(slices.Values(out.Ratios))
	n := len(sorted)
	out.MedianRatio = sorted[n/2]
	if n%2 == 0 {
		out.MedianRatio = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return out, nil
}
