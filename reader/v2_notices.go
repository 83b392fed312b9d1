package reader

import (
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// noticeRoutes are the v2 reads of notices (docs/design.md "Notices").
func (s *Server) noticeRoutes() []v2Route {
	return []v2Route{
		{"v2.Notices", "notices", s.v2Notices, nil},
		{"v2.Notice", "notices/{id}", s.v2Notice, nil},
	}
}

// v2Notices: GET /api/v2/notices?gt=&type=&importance=&text=&page=&page_size=,
// most important then newest first; importance is a minimum (MAJOR lists
// MAJOR and CRITICAL ones).
func (s *Server) v2Notices(ctx *fasthttp.RequestCtx) error {
	if s.cfg.Notices == nil {
		return errNotAvailable("Notices")
	}
	var q condcache.NoticeQuery
	var err error
	for name, into := range map[string]*string{"gt": &q.GlobalTag, "type": &q.PayloadType, "text": &q.Text} {
		if *into, err = v2Text(ctx, name); err != nil {
			return err
		}
	}
	if v, err := v2Text(ctx, "importance"); err != nil {
		return err
	} else if v != "" {
		if q.MinImportance, err = condcache.ParseImportance(v); err != nil {
			return err
		}
	}
	if q.Page, q.PageSize, err = v2Page(ctx); err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	page, err := s.cfg.Notices.Notices(sctx, q)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	api.WriteOK(ctx, wire.NewV2NoticePage(page))
	return nil
}

// v2Notice: GET /api/v2/notices/{id}.
func (s *Server) v2Notice(ctx *fasthttp.RequestCtx) error {
	if s.cfg.Notices == nil {
		return errNotAvailable("Notices")
	}
	param := drf.PathParam(ctx, "id")
	id, err := strconv.ParseInt(param, 10, 64)
	if err != nil || id <= 0 {
		return condcache.Errorf(condcache.ENotFound, "Notice %s not found.", strconv.Quote(param))
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	n, err := s.cfg.Notices.Notice(sctx, id)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	api.WriteOK(ctx, wire.NewV2Notice(n))
	return nil
}

// noticeMemo keeps each GT's candidate notices (NoticeReader.
// CandidateNotices) for one generation: a change to a notice bumps the
// generation of every GT it concerns, so candidates read at or after
// generation g hold for answers at g. v2 answers served from the lookup
// cache take their notices from here instead of a database read each.
type noticeMemo struct {
	mu sync.Mutex
	m  map[string]memoNotices
}

type memoNotices struct {
	generation int64
	notices    []condcache.Notice
}

// maxMemoGTs bounds the memo; past it, it starts over.
const maxMemoGTs = 10_000

func (m *noticeMemo) get(gt string, gen int64) ([]condcache.Notice, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[gt]
	return e.notices, ok && e.generation == gen
}

func (m *noticeMemo) put(gt string, gen int64, ns []condcache.Notice) {
	if gen <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= maxMemoGTs {
		m.m = map[string]memoNotices{}
	}
	if e, ok := m.m[gt]; !ok || e.generation <= gen {
		m.m[gt] = memoNotices{gen, ns}
	}
}

// candidateNotices returns the notices that can apply to answers of gt
// at generation gen, from the memo or read afresh.
func (s *Server) candidateNotices(sctx contextT, gt string, gen int64) ([]condcache.Notice, error) {
	if s.cfg.Notices == nil {
		return nil, nil
	}
	if ns, ok := s.notices.get(gt, gen); ok {
		return ns, nil
	}
	ns, err := s.cfg.Notices.CandidateNotices(sctx, gt)
	if err != nil {
		return nil, err
	}
	s.notices.put(gt, gen, ns)
	return ns, nil
}

// currentNotices reads gt's candidate notices afresh: an as-of answer
// carries the notices as they are now about the objects it answers.
func (s *Server) currentNotices(sctx contextT, gt string) ([]condcache.Notice, error) {
	if s.cfg.Notices == nil {
		return nil, nil
	}
	return s.cfg.Notices.CandidateNotices(sctx, gt)
}

// answering is what NoticeApplies needs of the rows of an answer.
func answering(rows []condcache.LookupRow) []condcache.AnsweringIOV {
	out := make([]condcache.AnsweringIOV, len(rows))
	for i, r := range rows {
		out[i] = condcache.AnsweringIOV{ID: r.ID, ListID: r.ListID, PayloadType: r.PayloadType}
	}
	return out
}

// lookupNotices are the notices that apply to the answer rows of gt at
// point at (generation gen), sorted.
func (s *Server) lookupNotices(sctx contextT, gt string, gen int64, rows []condcache.LookupRow, at condcache.Point) ([]condcache.Notice, error) {
	cands, err := s.candidateNotices(sctx, gt, gen)
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	return condcache.ApplicableNotices(cands, gt, answering(rows), at, at), nil
}
