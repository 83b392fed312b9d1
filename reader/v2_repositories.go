package reader

import (
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// repositoryRoutes are the v2 reads of payload repositories and file records (docs/design.md "Payload repositories").
// Listings are paged like the audit trail's and never cached
// (Cache-Control: no-store): they read a backend that holds every
// committed write. Site resolution (site= on lookup and range) is below.
func (s *Server) repositoryRoutes() []v2Route {
	return []v2Route{
		{"v2.RepositoryTypes", "repository-types", s.v2RepositoryTypes, nil},
		{"v2.Repositories", "repositories", s.v2Repositories, nil},
		{"v2.Repository", "repositories/{name}", s.v2Repository, nil},
		{"v2.FileRecords", "files", s.v2FileRecords, nil},
		{"v2.FileRecord", "files/{id}", s.v2FileRecord, nil},
	}
}

// repositoryReader returns the service, or 404 when this reader has none.
func (s *Server) repositoryReader(ctx *fasthttp.RequestCtx) (condcache.RepositoryReader, error) {
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	if s.cfg.Repositories == nil {
		return nil, errNotAvailable("The payload repository catalogue")
	}
	return s.cfg.Repositories, nil
}

// v2RepositoryTypes: GET /api/v2/repository-types, every type by name.
func (s *Server) v2RepositoryTypes(ctx *fasthttp.RequestCtx) error {
	svc, err := s.repositoryReader(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	ts, err := svc.RepositoryTypes(sctx)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewV2RepositoryTypes(ts))
	return nil
}

// v2OptionalBool reads a flag that may be absent (nil).
func v2OptionalBool(ctx *fasthttp.RequestCtx, name string) (*bool, error) {
	if _, ok := drf.LastQueryArg(ctx.QueryArgs(), name); !ok {
		return nil, nil
	}
	v, err := v2Bool(ctx, name)
	return &v, err
}

// v2Repositories: GET /api/v2/repositories?site=&type=&personal=&page=&page_size=,
// by name.
func (s *Server) v2Repositories(ctx *fasthttp.RequestCtx) error {
	svc, err := s.repositoryReader(ctx)
	if err != nil {
		return err
	}
	var q condcache.RepositoryQuery
	if q.Site, err = v2Text(ctx, "site"); err != nil {
		return err
	}
	if q.Type, err = v2Text(ctx, "type"); err != nil {
		return err
	}
	if q.Personal, err = v2OptionalBool(ctx, "personal"); err != nil {
		return err
	}
	if q.Page, q.PageSize, err = v2Page(ctx); err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	page, err := svc.Repositories(sctx, q)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewV2RepositoryPage(page))
	return nil
}

// v2Repository: GET /api/v2/repositories/{name}.
func (s *Server) v2Repository(ctx *fasthttp.RequestCtx) error {
	svc, err := s.repositoryReader(ctx)
	if err != nil {
		return err
	}
	name, err := drf.TextParam(ctx, "name")
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	r, err := svc.Repository(sctx, name)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewV2Repository(r))
	return nil
}

// v2FileRecords: GET /api/v2/files?repository=&site=&iov=&exists=&page=&page_size=,
// by id.
func (s *Server) v2FileRecords(ctx *fasthttp.RequestCtx) error {
	svc, err := s.repositoryReader(ctx)
	if err != nil {
		return err
	}
	var q condcache.FileQuery
	if q.Repository, err = v2Text(ctx, "repository"); err != nil {
		return err
	}
	if q.Site, err = v2Text(ctx, "site"); err != nil {
		return err
	}
	if q.IOV, err = v2Int(ctx, "iov", 0, 1, maxInt64); err != nil {
		return err
	}
	if q.Exists, err = v2OptionalBool(ctx, "exists"); err != nil {
		return err
	}
	if q.Page, q.PageSize, err = v2Page(ctx); err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	page, err := svc.FileRecords(sctx, q)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewV2FilePage(page))
	return nil
}

// v2FileRecord: GET /api/v2/files/{id}.
func (s *Server) v2FileRecord(ctx *fasthttp.RequestCtx) error {
	svc, err := s.repositoryReader(ctx)
	if err != nil {
		return err
	}
	raw := drf.PathParam(ctx, "id")
	id, err := drf.ParseInt([]byte(raw))
	if err != nil || id <= 0 {
		return condcache.Errorf(condcache.ENotFound, "FileRecord %q not found.", raw)
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	f, err := svc.FileRecord(sctx, id)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewV2FileRecord(f))
	return nil
}

// Site resolution (docs/design.md "Payload repositories"): with site=NAME,
// each payload of a v2 lookup or range answer carries "site", where its
// file is at that site (wire.V2Site, the rule of condcache.ChooseCopy).
// The payloads, the window and the digest are those of the answer without
// site=, which stays byte for byte what it was. An unknown site is 404;
// site= with asof or generation is 400 (file records have no history).
//
// The answer is cached whole under its GT like a range: every change of a
// file record or repository that can alter it bumps the GT's generation
// (migration 010). Its Cache-Control is no-cache whatever the GT's status:
// a frozen GT's payloads never change, their copies do.

// maxSiteAttempts bounds how often the answer and its copies are read again
// when a write came between the two reads (their generations differ).
const maxSiteAttempts = 3

// siteParam returns the site parameter, "" when absent; present, it must
// name something.
func siteParam(ctx *fasthttp.RequestCtx) (string, error) {
	if _, ok := drf.LastQueryArg(ctx.QueryArgs(), "site"); !ok {
		return "", nil
	}
	return v2RequiredText(ctx, "site")
}

// checkSiteRead refuses what site resolution cannot answer.
func (s *Server) checkSiteRead(ctx *fasthttp.RequestCtx) error {
	if historical(ctx) {
		return condcache.Errorf(condcache.EInvalid,
			"site cannot be combined with asof or generation: file records have no history, only their current state.")
	}
	if s.cfg.Repositories == nil {
		return errNotAvailable("The payload repository catalogue")
	}
	return nil
}

// errUnknownSite clears the headers an answer about the GT had set.
func errUnknownSite(ctx *fasthttp.RequestCtx, site string) error {
	for _, h := range keptHeaders {
		ctx.Response.Header.Del(h)
	}
	return condcache.Errorf(condcache.ENotFound, "Site %q not found: no repository has this site label.", site)
}

// v2LookupAtSite is the v2 lookup with site=: its payloads and the IOVs the
// lookup selects, with their copies at the site, read at one generation.
func (s *Server) v2LookupAtSite(ctx *fasthttp.RequestCtx, p v2LookupParams, site string) error {
	if err := s.checkSiteRead(ctx); err != nil {
		return err
	}
	return s.cachedV2(gtOfQuery, func(ctx *fasthttp.RequestCtx) error {
		sctx, cancel := s.serviceContext()
		defer cancel()
		for attempt := 1; ; attempt++ {
			var res condcache.LookupResult
			var err error
			if attempt == 1 {
				res, err = s.resolveAt(sctx, p.gt, p.at)
			} else {
				res, err = s.svc.LookupAt(sctx, p.gt, p.at, condcache.Freshness{Latest: true})
			}
			if err != nil {
				return err
			}
			if !res.Found {
				return errUnknownGT(p.gt)
			}
			copies, err := s.cfg.Repositories.SiteCopies(sctx, condcache.SiteQuery{GlobalTag: p.gt, Site: site, At: &p.at},
				condcache.Freshness{MinGeneration: res.Generation, Latest: attempt > 1})
			if err != nil {
				return err
			}
			if !copies.Known {
				return errUnknownSite(ctx, site)
			}
			if copies.Generation != res.Generation && attempt < maxSiteAttempts {
				continue
			}
			r := condcache.Resolve(res.Rows, res.Window, p.at, p.o)
			answer := wire.NewV2Lookup(p.gt, res.Status, res.Generation, p.at, r)
			for i := range answer.Payloads {
				answer.Payloads[i].Site = wire.NewV2Site(copies.Copies[selectedID(copies.Selected, r.Payloads[i])])
			}
			ctx.Response.Header.Set(api.HeaderDigest, r.Digest)
			notModified := setCaching(ctx, res.Generation, true, res.Status)
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheUnlocked)
			if !notModified {
				api.WriteOK(ctx, answer)
			}
			return nil
		}
	})(ctx)
}

// selectedID is the id of the selected IOV that is row (0: none).
func selectedID(sel []condcache.SelectedIOV, row condcache.LookupRow) int64 {
	for _, x := range sel {
		if x.Row.PayloadType == row.PayloadType && x.Row.PayloadURL == row.PayloadURL && x.Row.Checksum == row.Checksum &&
			x.Row.Start == row.Start && x.Row.End == row.End && equalPtr(x.Row.Size, row.Size) && equalPtr(x.Row.Revision, row.Revision) {
			return x.ID
		}
	}
	return 0
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// rangeAtSite is the v2 range with site=: the range answer, and the copies
// at the site of the IOVs it shows, read at one generation.
func (s *Server) rangeAtSite(ctx *fasthttp.RequestCtx, sctx contextT, gt string, from, to condcache.Point, o condcache.ResolveOptions, site string) error {
	if err := s.checkSiteRead(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		answer, err := s.rangeAnswer(ctx, sctx, gt, from, to, o)
		if err != nil {
			return err
		}
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheUnlocked)
		if answer == nil {
			return nil // 304: the generation fixes the copies too
		}
		var ids []int64
		for _, t := range answer.Types {
			for _, iv := range t.Intervals {
				if iv.Payload != nil {
					ids = append(ids, iv.Payload.ID)
				}
			}
		}
		copies, err := s.cfg.Repositories.SiteCopies(sctx, condcache.SiteQuery{GlobalTag: gt, Site: site, IOVs: ids},
			condcache.Freshness{MinGeneration: answer.Generation})
		if err != nil {
			return err
		}
		if !copies.Known {
			return errUnknownSite(ctx, site)
		}
		if copies.Generation != answer.Generation && attempt < maxSiteAttempts {
			continue
		}
		for _, t := range answer.Types {
			for _, iv := range t.Intervals {
				if iv.Payload != nil {
					iv.Payload.Site = wire.NewV2Site(copies.Copies[iv.Payload.ID])
				}
			}
		}
		api.WriteOK(ctx, answer)
		return nil
	}
}
