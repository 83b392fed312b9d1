package reader

import (
	"fmt"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/wire"
)

// handlerFunc is an endpoint. It writes the success answer itself and
// returns any error for handle to map to a status.
type handlerFunc func(ctx *fasthttp.RequestCtx) error

// handlers maps the GET route names of api.Routes to endpoints.
func (s *Server) handlers() map[string]handlerFunc {
	return map[string]handlerFunc{
		api.GlobalTagStatuses:     s.globalTagStatuses,
		api.GlobalTagsFull:        s.globalTagsFull,
		api.GlobalTagByID:         s.globalTagByID,
		api.GlobalTagByName:       s.globalTagByName,
		api.GlobalTags:            s.globalTags,
		api.GlobalTagPayloadLists: s.globalTagPayloadLists,
		api.PayloadTypes:          s.payloadTypes,
		api.PayloadLists:          s.payloadLists,
		api.PayloadListByID:       s.payloadListByID,
		api.PayloadListByName:     s.payloadListByName,
		api.PayloadIOVs:           s.payloadIOVs,
		api.PayloadIOVByID:        s.payloadIOVByID,
		api.Lookup:                s.lookup,
		api.Settings:              s.setting,
		api.Timeout:               s.timeout,
	}
}

// newRouter builds the exact routing of the reference (docs/compatibility.md "Conventions"):
// no trailing-slash or case fixing, so "gt/" is 404, except the explicit
// APPEND_SLASH redirects of api.SlashRedirects.
func (s *Server) newRouter() *router.Router {
	r := api.ExactRouter(api.NotFound, api.MethodNotAllowed, options)
	handlers := s.handlers()
	for _, rt := range api.Routes {
		for _, p := range rt.Paths {
			path := api.Prefix + p
			if rt.Method != fasthttp.MethodGet {
				// Writes never get here (Handler proxies them first), but
				// registering them lets the router answer a GET on a
				// write-only path with 405, as the reference does.
				r.Handle(rt.Method, path, s.proxyWrite)
				continue
			}
			h, ok := handlers[rt.Name]
			if !ok {
				panic(fmt.Sprintf("reader: no handler for GET route %s", rt.Name))
			}
			api.GET(r, path, s.cfg.Metrics.Instrument(rt.Name, s.counting(rt.Name, s.handle(rt.Name, s.cachedResponse(rt.Name, h)))))
		}
	}
	s.v2Routes(r)
	s.exportRoute(r)
	s.uiRoutes(r)
	api.GET(r, api.HealthzPath, api.Healthz)
	api.GET(r, api.ReadyzPath, api.ReadyHandler(s.base, s.stopping, s.cfg.ReadyTimeout, s.svc.Ready, s.log))
	api.GET(r, api.OpenAPIPath, s.cfg.Metrics.Instrument("openapi", api.OpenAPIHandler()))
	if s.cfg.Gatherer != nil {
		api.GET(r, api.MetricsPath, api.MetricsHandler(s.cfg.Gatherer))
	}

	// The radix tree cannot hold "payloadiovs" beside "payloadiovs/" (it
	// reserves the slash-less node for its own trailing-slash redirect), so
	// the slash-less paths live in a second router consulted only for paths
	// the first one does not know.
	redirects := api.ExactRouter(api.NotFound, api.MethodNotAllowed, options)
	for _, p := range api.SlashRedirects {
		api.GET(redirects, api.Prefix+p, appendSlash)
	}
	api.GET(redirects, uiRoot, redirectTo(fasthttp.StatusMovedPermanently, uiPrefix))
	r.NotFound = redirects.Handler
	return r
}

// handle adapts an endpoint to fasthttp, answering its error.
func (s *Server) handle(route string, h handlerFunc) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			s.writeError(ctx, route, err)
		}
	}
}

// appendSlash answers a slash-less path of api.SlashRedirects with a 301 to
// the slashed path, keeping the query string (Django APPEND_SLASH). The
// Location is relative and built from the raw path, so percent-encoding
// survives. The body is JSON like every other answer.
func appendSlash(ctx *fasthttp.RequestCtx) {
	loc := append([]byte(nil), ctx.Request.URI().PathOriginal()...)
	loc = append(loc, '/')
	if q := ctx.URI().QueryString(); len(q) > 0 {
		loc = append(loc, '?')
		loc = append(loc, q...)
	}
	ctx.Response.Header.SetBytesV(fasthttp.HeaderLocation, loc)
	body := append([]byte(nil), `{"detail":"Moved permanently.","location":`...)
	body = wire.AppendString(body, string(loc))
	body = append(body, '}')
	api.WriteJSON(ctx, fasthttp.StatusMovedPermanently, body)
}

// The web UI (docs/design.md "Web UI") is served under uiPrefix by
// Config.UI, which does its own routing.
const (
	uiRoot   = "/ui"
	uiPrefix = uiRoot + "/"
)

// uiRoutes registers the web UI, and redirects the reference's web app
// address (api.WebApp, 404 before condcache had a UI) to it.
func (s *Server) uiRoutes(r *router.Router) {
	h := s.cfg.UI
	if h == nil {
		h = func(ctx *fasthttp.RequestCtx) { api.WriteError(ctx, errNotAvailable("The web UI")) }
	}
	api.GET(r, uiPrefix+"{path:*}", s.cfg.Metrics.Instrument("ui", h))
	api.GET(r, api.Prefix+api.WebApp, s.cfg.Metrics.Instrument("ui.WebApp", redirectTo(fasthttp.StatusFound, uiPrefix)))
}

// redirectTo answers status with Location loc and a JSON body, like
// appendSlash.
func redirectTo(status int, loc string) fasthttp.RequestHandler {
	body := append([]byte(`{"detail":"Moved.","location":`), wire.AppendString(nil, loc)...)
	body = append(body, '}')
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(fasthttp.HeaderLocation, loc)
		api.WriteJSON(ctx, status, body)
	}
}

// options answers OPTIONS on a known path; the router has already set the
// Allow header.
func options(ctx *fasthttp.RequestCtx) {
	api.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{}`))
}
