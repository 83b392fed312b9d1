package sql

import (
	"context"

	"github.com/condcache/condcache"
)

// BuildGTIndex builds gt's GT index now, as a lookup would in the
// background, and reports whether the GT exists.
func (r *Reader) BuildGTIndex(ctx context.Context, gt string) (bool, error) {
	x, err := r.buildGTIndex(ctx, gt, 0)
	if err != nil || x == nil {
		return false, err
	}
	r.idx.put(gt, x)
	return true, nil
}

// GTIndexGeneration is the generation of the GT index held for gt (0:
// none).
func (r *Reader) GTIndexGeneration(gt string) int64 {
	if x := r.idx.get(gt); x != nil {
		return x.generation
	}
	return 0
}

// LookupFromGTIndex resolves at in the GT index held for gt alone.
func (r *Reader) LookupFromGTIndex(gt string, at condcache.Point) (condcache.LookupResult, bool) {
	x := r.idx.get(gt)
	if x == nil {
		return condcache.LookupResult{}, false
	}
	return x.resolve(at, x.source), true
}
