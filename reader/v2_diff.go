package reader

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// v2Diff: GET /api/v2/diff?a=GT1&b=GT2[&from=&to=][&major=&minor=]
// (docs/design.md "The v2 read API"): per payload type, the run ranges
// where the two GTs' compatible lookups answer different payloads (every
// point when from and to are absent), and the types only one GT has; with
// major (and minor), the two answers at one point. Both GTs are read from
// an up-to-date backend; the ETag joins both generations.
func (s *Server) v2Diff(ctx *fasthttp.RequestCtx) error {
	a, err := v2RequiredText(ctx, "a")
	if err != nil {
		return err
	}
	b, err := v2RequiredText(ctx, "b")
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	if _, atPoint := drf.LastQueryArg(ctx.QueryArgs(), "major"); atPoint {
		return s.v2DiffAt(ctx, sctx, a, b)
	}
	from, to, err := rangeParams(ctx, true)
	if err != nil {
		return err
	}
	if s.cfg.Ranges == nil {
		return errNotAvailable("Range reads")
	}
	need := condcache.Freshness{Latest: true}
	ra, err := s.cfg.Ranges.RangeAt(sctx, a, from, to, MaxRangeIOVs, need)
	if err != nil {
		return err
	}
	rb, err := s.cfg.Ranges.RangeAt(sctx, b, from, to, MaxRangeIOVs, need)
	if err != nil {
		return err
	}
	if !ra.Found {
		return errUnknownGT(a)
	}
	if !rb.Found {
		return errUnknownGT(b)
	}
	if setDiffCaching(ctx, ra.Generation, rb.Generation, ra.Status, rb.Status) {
		return nil
	}
	changes, onlyA, onlyB := condcache.DiffRange(ra.Lists, rb.Lists, from, to)
	answer := wire.NewV2Diff(a, b, ra.Generation, rb.Generation, from, to, changes, onlyA, onlyB)
	for _, side := range []struct {
		gt   string
		res  condcache.RangeResult
		into *[]wire.V2Notice
	}{{a, ra, &answer.ANotices}, {b, rb, &answer.BNotices}} {
		cands, err := s.candidateNotices(sctx, side.gt, side.res.Generation)
		if err != nil {
			return err
		}
		types, _ := condcache.ResolveRange(side.res.Lists, from, to, condcache.ResolveOptions{Mode: s.cfg.IOVMode})
		*side.into = wire.NewV2Notices(condcache.NoticesForRange(cands, side.gt, types, from, to))
	}
	api.WriteOK(ctx, answer)
	return nil
}

// v2DiffAt compares the two GTs' answers at one point.
func (s *Server) v2DiffAt(ctx *fasthttp.RequestCtx, sctx contextT, a, b string) error {
	var at condcache.Point
	var err error
	if at.Major, err = v2Int(ctx, "major", 0, minInt64, maxInt64); err != nil {
		return err
	}
	if at.Minor, err = v2Int(ctx, "minor", 0, minInt64, maxInt64); err != nil {
		return err
	}
	ra, err := s.resolveAt(sctx, a, at)
	if err != nil {
		return err
	}
	rb, err := s.resolveAt(sctx, b, at)
	if err != nil {
		return err
	}
	if !ra.Found {
		return errUnknownGT(a)
	}
	if !rb.Found {
		return errUnknownGT(b)
	}
	if setDiffCaching(ctx, ra.Generation, rb.Generation, ra.Status, rb.Status) {
		return nil
	}
	answer := wire.NewV2DiffAt(a, b, ra.Generation, rb.Generation, at, ra.Rows, rb.Rows)
	na, err := s.lookupNotices(sctx, a, ra.Generation, ra.Rows, at)
	if err != nil {
		return err
	}
	nb, err := s.lookupNotices(sctx, b, rb.Generation, rb.Rows, at)
	if err != nil {
		return err
	}
	answer.ANotices, answer.BNotices = wire.NewV2Notices(na), wire.NewV2Notices(nb)
	api.WriteOK(ctx, answer)
	return nil
}

// setDiffCaching sets an ETag joining both generations, a Cache-Control
// no longer-lived than the less settled GT's, and answers 304 when the
// client has this pair.
func setDiffCaching(ctx *fasthttp.RequestCtx, genA, genB int64, statusA, statusB string) bool {
	tag := []byte(`"g` + strconv.FormatInt(genA, 10) + "-" + strconv.FormatInt(genB, 10) + `"`)
	h := &ctx.Response.Header
	h.SetBytesV(fasthttp.HeaderETag, tag)
	switch {
	case statusA == condcache.StatusFrozen && statusB == condcache.StatusFrozen:
		h.Set(fasthttp.HeaderCacheControl, cacheFrozen)
	case settled(statusA) && settled(statusB):
		h.Set(fasthttp.HeaderCacheControl, cacheLocked)
	default:
		h.Set(fasthttp.HeaderCacheControl, cacheUnlocked)
	}
	if etagMatches(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), tag) {
		ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return true
	}
	return false
}

func settled(status string) bool {
	return status == condcache.StatusLocked || status == condcache.StatusFrozen
}
