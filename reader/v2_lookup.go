package reader

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// maxTypes bounds the types parameter.
const maxTypes = 1000

// v2LookupParams are the parameters of GET /api/v2/lookup.
type v2LookupParams struct {
	gt string
	at condcache.Point
	o  condcache.ResolveOptions
}

func (s *Server) parseV2Lookup(ctx *fasthttp.RequestCtx) (v2LookupParams, error) {
	var p v2LookupParams
	var err error
	if p.gt, err = v2RequiredText(ctx, "gt"); err != nil {
		return p, err
	}
	if _, ok := drf.LastQueryArg(ctx.QueryArgs(), "major"); !ok {
		return p, condcache.FieldError(condcache.EInvalid, "major", drf.MsgRequired)
	}
	if p.at.Major, err = v2Int(ctx, "major", 0, minInt64, maxInt64); err != nil {
		return p, err
	}
	if p.at.Minor, err = v2Int(ctx, "minor", 0, minInt64, maxInt64); err != nil {
		return p, err
	}
	if p.o, err = s.resolveOptions(ctx); err != nil {
		return p, err
	}
	return p, nil
}

// resolveOptions reads strict and types, shared by lookup and range.
func (s *Server) resolveOptions(ctx *fasthttp.RequestCtx) (condcache.ResolveOptions, error) {
	o := condcache.ResolveOptions{Mode: s.cfg.IOVMode}
	var err error
	if o.Strict, err = v2Bool(ctx, "strict"); err != nil {
		return o, err
	}
	if o.Types, err = v2List(ctx, "types", maxTypes); err != nil {
		return o, err
	}
	return o, nil
}

// v2Lookup: GET /api/v2/lookup?gt=&major=&minor=[&strict=1][&types=a,b]
// (docs/design.md "The v2 read API"): the payloads of GT gt at the point,
// ordered by type, with the window where this answer holds and its digest.
// It answers from the compatible lookup's cache entries, with the same
// freshness, ETag and Cache-Control.
func (s *Server) v2Lookup(ctx *fasthttp.RequestCtx) error {
	p, err := s.parseV2Lookup(ctx)
	if err != nil {
		return err
	}
	if site, err := siteParam(ctx); err != nil || site != "" {
		if err != nil {
			return err
		}
		return s.v2LookupAtSite(ctx, p, site) // docs/design.md "Payload repositories"
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	if at, ok, err := s.historyParam(ctx, sctx, p.gt); err != nil {
		return err
	} else if ok {
		state, err := s.stateAt(sctx, p.gt, at)
		if err != nil {
			return err
		}
		rows, w := condcache.LookupIn(state.Lists, p.at)
		cands, err := s.currentNotices(sctx, p.gt)
		if err != nil {
			return err
		}
		condcache.NarrowWindow(&w, cands, p.gt, answering(rows), p.at)
		r := condcache.Resolve(rows, w, p.at, p.o)
		ctx.Response.Header.Set(api.HeaderDigest, r.Digest)
		setHistoryCaching(ctx, at)
		answer := wire.NewV2Lookup(p.gt, state.Status, state.Generation, p.at, r)
		asof := at.UTC().Format(time.RFC3339Nano)
		answer.AsOf = &asof
		answer.Notices = wire.NewV2Notices(condcache.ApplicableNotices(cands, p.gt, answering(r.Payloads), p.at, p.at))
		api.WriteOK(ctx, answer)
		return nil
	}
	res, err := s.resolveAt(sctx, p.gt, p.at)
	if err != nil {
		return err
	}
	if !res.Found {
		return errUnknownGT(p.gt)
	}
	r := condcache.Resolve(res.Rows, res.Window, p.at, p.o)
	ctx.Response.Header.Set(api.HeaderDigest, r.Digest)
	if setCaching(ctx, res.Generation, true, res.Status) {
		return nil
	}
	ns, err := s.lookupNotices(sctx, p.gt, res.Generation, r.Payloads, p.at)
	if err != nil {
		return err
	}
	answer := wire.NewV2Lookup(p.gt, res.Status, res.Generation, p.at, r)
	answer.Notices = wire.NewV2Notices(ns)
	api.WriteOK(ctx, answer)
	return nil
}

// resolveAt is the compatible lookup's result, from a cache hit (its rows
// read back) or from the database (stored when the cache allows).
func (s *Server) resolveAt(sctx contextT, gt string, at condcache.Point) (condcache.LookupResult, error) {
	hit, ok, need, known := s.fromCache(sctx, gt, at, false)
	if ok {
		rows, err := wire.ParseLookupRows(hit.Body)
		if err != nil {
			return condcache.LookupResult{}, err
		}
		if len(hit.Answering) == len(rows) {
			for i := range rows {
				rows[i].ID, rows[i].ListID = hit.Answering[i].ID, hit.Answering[i].ListID
			}
		}
		return condcache.LookupResult{Rows: rows, Found: true, Status: hit.Status, Generation: hit.Generation,
			Window: hit.Window, Digest: hit.Digest}, nil
	}
	res, _, _, err := s.fromDatabase(sctx, gt, at, false, need, known, nil)
	return res, err
}

func errUnknownGT(gt string) error {
	return condcache.Errorf(condcache.ENotFound, "GlobalTag %s not found.", gt)
}

// v2List reads a comma-separated list of names, without empty elements or
// repeats, refusing more than max.
func v2List(ctx *fasthttp.RequestCtx, name string, limit int) ([]string, error) {
	v, err := v2Text(ctx, name)
	if err != nil || v == "" {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(v, ",") {
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) > limit {
		return nil, condcache.Errorf(condcache.EInvalid, "%s: at most %d names, got %d.", name, limit, len(out))
	}
	return out, nil
}
