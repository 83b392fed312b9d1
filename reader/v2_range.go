package reader

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// Bounds of a range read (docs/design.md "The v2 read API"): a range spans
// at most MaxRangeRuns runs, and holds at most MaxRangeIOVs IOVs; beyond,
// the client narrows it or exports the GT.
const (
	MaxRangeRuns = 1_000_000
	MaxRangeIOVs = 200_000
)

// parsePointParam reads a point written "R" or "R.m" (run, or run and
// subrun); a missing subrun is defaultMinor.
func parsePointParam(ctx *fasthttp.RequestCtx, name string, defaultMinor int64) (condcache.Point, bool, error) {
	p, ok, _, err := parsePointParamMinor(ctx, name, defaultMinor)
	return p, ok, err
}

// parsePointParamMinor is parsePointParam that also tells whether the
// subrun was given.
func parsePointParamMinor(ctx *fasthttp.RequestCtx, name string, defaultMinor int64) (p condcache.Point, present, hasMinor bool, err error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), name)
	if !ok {
		return condcache.Point{}, false, false, nil
	}
	bad := condcache.FieldError(condcache.EInvalid, name, `Must be a run "R" or a run and subrun "R.m", integers.`)
	majorText, minorText, hasMinor := strings.Cut(string(v), ".")
	major, err := strconv.ParseInt(majorText, 10, 64)
	if err != nil {
		return condcache.Point{}, true, hasMinor, bad
	}
	minor := defaultMinor
	if hasMinor {
		if minor, err = strconv.ParseInt(minorText, 10, 64); err != nil {
			return condcache.Point{}, true, hasMinor, bad
		}
	}
	return condcache.Point{Major: major, Minor: minor}, true, hasMinor, nil
}

// rangeParams reads from and to: the whole range when both are absent
// (allowWhole), else both are needed, from at most to, and at most
// MaxRangeRuns runs apart.
func rangeParams(ctx *fasthttp.RequestCtx, allowWhole bool) (from, to condcache.Point, err error) {
	from, hasFrom, err := parsePointParam(ctx, "from", 0)
	if err != nil {
		return from, to, err
	}
	to, hasTo, toMinor, err := parsePointParamMinor(ctx, "to", condcache.MaxIOV)
	if err != nil {
		return from, to, err
	}
	switch {
	case !hasFrom && !hasTo && allowWhole:
		return condcache.Point{Major: math.MinInt64, Minor: math.MinInt64}, condcache.OpenEnd, nil
	case !hasFrom:
		return from, to, condcache.FieldError(condcache.EInvalid, "from", drf.MsgRequired)
	case !hasTo:
		return from, to, condcache.FieldError(condcache.EInvalid, "to", drf.MsgRequired)
	case to.Less(from):
		return from, to, condcache.FieldError(condcache.EInvalid, "to", "Must not be before from.")
	}
	runs := float64(to.Major) - float64(from.Major)
	if runs == 0 && toMinor {
		runs = float64(to.Minor) - float64(from.Minor) // runs numbered as minors of one major
	}
	if runs > MaxRangeRuns {
		return from, to, condcache.Errorf(condcache.EInvalid,
			"The range spans %.0f runs, more than %d: narrow it, or export the GT.", runs, MaxRangeRuns)
	}
	return from, to, nil
}

// v2Range: GET /api/v2/range?gt=&from=R1[.m]&to=R2[.m][&strict=1][&types=]
// [&asof=|&generation=]: per payload type, the answers interval by interval
// tiling [from, to] (a subrun-less to means its whole run), with the range
// digest.
func (s *Server) v2Range(ctx *fasthttp.RequestCtx) error {
	gt, err := v2RequiredText(ctx, "gt")
	if err != nil {
		return err
	}
	from, to, err := rangeParams(ctx, false)
	if err != nil {
		return err
	}
	o, err := s.resolveOptions(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	if site, err := siteParam(ctx); err != nil || site != "" {
		if err != nil {
			return err
		}
		return s.rangeAtSite(ctx, sctx, gt, from, to, o, site) // docs/design.md "Payload repositories"
	}
	answer, err := s.rangeAnswer(ctx, sctx, gt, from, to, o)
	if err != nil || answer == nil {
		return err
	}
	api.WriteOK(ctx, answer)
	return nil
}

// rangeAnswer computes the range answer and sets its headers; nil (and
// no error) when the answer is a 304.
func (s *Server) rangeAnswer(ctx *fasthttp.RequestCtx, sctx contextT, gt string, from, to condcache.Point, o condcache.ResolveOptions) (*wire.V2Range, error) {
	if at, ok, err := s.historyParam(ctx, sctx, gt); err != nil {
		return nil, err
	} else if ok {
		state, err := s.stateAt(sctx, gt, at)
		if err != nil {
			return nil, err
		}
		types, digest := condcache.ResolveRange(state.Lists, from, to, o)
		ctx.Response.Header.Set(api.HeaderDigest, digest)
		setHistoryCaching(ctx, at)
		a := wire.NewV2Range(gt, state.Status, state.Generation, from, to, digest, types)
		asof := at.UTC().Format(time.RFC3339Nano)
		a.AsOf = &asof
		cands, err := s.currentNotices(sctx, gt)
		if err != nil {
			return nil, err
		}
		a.Notices = wire.NewV2Notices(condcache.NoticesForRange(cands, gt, types, from, to))
		return &a, nil
	}
	if s.cfg.Ranges == nil {
		return nil, errNotAvailable("Range reads")
	}
	res, err := s.cfg.Ranges.RangeAt(sctx, gt, from, to, MaxRangeIOVs, condcache.Freshness{Latest: true})
	if err != nil {
		return nil, err
	}
	if !res.Found {
		return nil, errUnknownGT(gt)
	}
	types, digest := condcache.ResolveRange(res.Lists, from, to, o)
	ctx.Response.Header.Set(api.HeaderDigest, digest)
	if setCaching(ctx, res.Generation, true, res.Status) {
		return nil, nil
	}
	a := wire.NewV2Range(gt, res.Status, res.Generation, from, to, digest, types)
	cands, err := s.candidateNotices(sctx, gt, res.Generation)
	if err != nil {
		return nil, err
	}
	a.Notices = wire.NewV2Notices(condcache.NoticesForRange(cands, gt, types, from, to))
	return &a, nil
}

// v2Digest: GET /api/v2/gt/{name}/digest[?from=&to=]: the digest of a GT's
// answers over a range (every point when from and to are absent).
func (s *Server) v2Digest(ctx *fasthttp.RequestCtx) error {
	gt, err := drf.TextParam(ctx, "name")
	if err != nil {
		return err
	}
	from, to, err := rangeParams(ctx, true)
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	answer, err := s.rangeAnswer(ctx, sctx, gt, from, to, condcache.ResolveOptions{Mode: s.cfg.IOVMode})
	if err != nil || answer == nil {
		return err
	}
	api.WriteOK(ctx, wire.V2Digest{GlobalTag: gt, Status: answer.Status, Generation: answer.Generation,
		From: answer.From, To: answer.To, AsOf: answer.AsOf, Digest: answer.Digest})
	return nil
}
