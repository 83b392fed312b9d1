package writer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// call is one request to an endpoint.
type call struct {
	ctx    context.Context // bounds the service call
	req    *fasthttp.RequestCtx
	claims auth.Claims // nil when authentication is off
}

// param returns the percent-decoded path parameter name.
func (c *call) param(name string) string { return drf.PathParam(c.req, name) }

// endpoint serves one route. It writes the success answer itself and returns
// any error for handle to answer.
type endpoint func(c *call) error

// User value keys; unexported types cannot collide with the router's path
// parameters, which are strings.
type (
	claimsKey struct{}
	routeKey  struct{}
)

// endpoints maps the non-GET route names of api.Routes to their endpoints.
func (s *Server) endpoints() map[string]endpoint {
	return map[string]endpoint{
		api.CreateGlobalTagStatus: s.createGlobalTagStatus,
		api.CreateGlobalTag:       s.createGlobalTag,
		api.CloneGlobalTag:        s.cloneGlobalTag,
		api.ChangeGlobalTagStatus: s.changeGlobalTagStatus,
		api.DeleteGlobalTag:       s.deleteGlobalTag,
		api.CreatePayloadType:     s.createPayloadType,
		api.DeletePayloadType:     s.deletePayloadType,
		api.CreatePayloadList:     s.createPayloadList,
		api.AttachPayloadList:     s.attachPayloadList,
		api.DeletePayloadList:     s.deletePayloadList,
		api.CreatePayloadIOV:      s.createPayloadIOV,
		api.BulkCreatePayloadIOVs: s.bulkCreatePayloadIOVs,
		api.AttachPayloadIOV:      s.attachPayloadIOV,
		api.DeleteOpenPayloadIOV:  s.deletePayloadIOV,
		api.DeletePayloadIOV:      s.deletePayloadIOV,
	}
}

// Handler returns the request handler: authentication of writes under
// api.Prefix first (when enabled), then the router. Every request is logged
// with its route and status; a handler panic is answered 500 JSON instead of
// taking the process down (fasthttp does not recover panics).
func (s *Server) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		defer s.logRequest(ctx, start)
		defer api.RecoverPanic(ctx, s.log)
		if s.authenticate(ctx) {
			s.router.Handler(ctx)
		}
	}
}

// authenticate verifies the token of a write request under either API prefix and
// keeps its claims for the endpoint. It runs before any routing, so a write
// to a read-only path gets the authentication error rather than 405, as in
// the reference (DRF authenticates before it checks the method, docs/compatibility.md "JWT authentication"). A write to an unknown path gets it too, where Django would answer
// 404 first: that way unauthenticated callers learn nothing about which
// paths exist. It answers the request itself and returns false when
// authentication fails.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx) bool {
	if !s.auth.Enabled() || !api.IsWrite(ctx.Method()) || !api.IsAPIPath(ctx.Request.URI().PathOriginal()) {
		return true
	}
	claims, err := s.auth.Authenticate(string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)))
	if err != nil {
		ctx.SetUserValue(routeKey{}, "authenticate")
		s.writeError(ctx, "authenticate", err)
		return false
	}
	ctx.SetUserValue(claimsKey{}, claims)
	return true
}

// newRouter builds the exact routing of the reference (docs/compatibility.md "Conventions"): no
// trailing-slash or case fixing. Every write route of api.Routes gets its
// endpoint; every read route answers 405 (reads belong to the readers), so
// that a write sent to a read-only path is 405 too, as in the reference.
func (s *Server) newRouter() *router.Router {
	r := api.ExactRouter(named(string(condcache.ENotFound), api.NotFound), named(string(condcache.EMethodNotAllowed), api.MethodNotAllowed), options)
	endpoints := s.endpoints()
	for _, rt := range api.Routes {
		for _, p := range rt.Paths {
			path := api.Prefix + p
			if rt.Method == fasthttp.MethodGet {
				api.GET(r, path, named("read_on_writer", readOnWriter(writeMethods(p))))
				continue
			}
			h, ok := endpoints[rt.Name]
			if !ok {
				panic(fmt.Sprintf("writer: no endpoint for %s route %s", rt.Method, rt.Name))
			}
			r.Handle(rt.Method, path, s.cfg.Metrics.Instrument(rt.Name, s.handle(rt.Name, h)))
		}
	}
	s.v2Routes(r)
	api.GET(r, api.HealthzPath, named("healthz", api.Healthz))
	api.GET(r, api.ReadyzPath, named("readyz", api.ReadyHandler(s.base, s.stopping, s.cfg.ReadyTimeout, s.cfg.Ready, s.log)))
	api.GET(r, api.OpenAPIPath, named("openapi", api.OpenAPIHandler()))
	if s.cfg.Gatherer != nil {
		api.GET(r, api.MetricsPath, named("metrics", api.MetricsHandler(s.cfg.Gatherer)))
	}

	// The radix tree cannot hold "payloadiovs" beside "payloadiovs/" (it
	// reserves the slash-less node for its trailing-slash redirect), so the
	// slash-less read paths, which readers redirect, live in a second
	// router consulted only for paths the first one does not know.
	slashless := api.ExactRouter(named(string(condcache.ENotFound), api.NotFound), named(string(condcache.EMethodNotAllowed), api.MethodNotAllowed), options)
	for _, p := range api.SlashRedirects {
		api.GET(slashless, api.Prefix+p, named("read_on_writer", readOnWriter("")))
	}
	r.NotFound = slashless.Handler
	return r
}

// handle adapts an endpoint to fasthttp: it bounds the service call, tells
// it who writes (for the audit trail), runs it as a dry run when asked
// (dry_run=1, docs/design.md "Dry runs"), lets its deletes remove protected
// objects when asked (force=1) and answers the endpoint's error.
func (s *Server) handle(route string, h endpoint) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(routeKey{}, route)
		claims, _ := ctx.UserValue(claimsKey{}).(auth.Claims)
		dry, err := dryRunParam(ctx)
		if err != nil {
			s.writeError(ctx, route, err)
			return
		}
		force, err := forceParam(ctx)
		if err != nil {
			s.writeError(ctx, route, err)
			return
		}
		cctx, cancel := context.WithTimeout(s.base, s.cfg.RequestTimeout)
		defer cancel()
		cctx = condcache.WithWriteMeta(cctx, s.writeMeta(ctx, route, claims))
		if force {
			// Deletes may remove protected objects, each after the admin
			// permission on its mark's GT (docs/design.md "Protection").
			cctx = condcache.WithForce(cctx, func(gt string) error {
				return s.auth.Permit(claims, auth.ObjectGlobalTag, auth.RoleAdmin, gt)
			})
		}
		var report *condcache.DryRun
		if dry {
			report = &condcache.DryRun{}
			cctx = condcache.WithDryRun(cctx, report)
		}
		if err := h(&call{ctx: cctx, req: ctx, claims: claims}); err != nil {
			s.writeError(ctx, route, err)
			return
		}
		if dry {
			response := append([]byte(nil), ctx.Response.Body()...)
			api.WriteOK(ctx, wire.NewDryRunAnswer(report, response))
		}
	}
}

// dryRunParam reads the dry_run query parameter: 1 or true asks for a dry
// run; 0, false or no parameter for the real write.
func dryRunParam(ctx *fasthttp.RequestCtx) (bool, error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), "dry_run")
	if !ok {
		return false, nil
	}
	switch string(v) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, condcache.FieldError(condcache.EInvalid, "dry_run", "Must be 1 (or true) for a dry run, or 0 (or false).")
}

// named records the route name of h for the access log.
func named(route string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(routeKey{}, route)
		h(ctx)
	}
}

// writeMethods lists the write methods api.Routes has for the path pattern
// p, for the Allow header of a read sent to the writer.
func writeMethods(p string) string {
	var methods []string
	for _, rt := range api.Routes {
		if rt.Method != fasthttp.MethodGet && slices.Contains(rt.Paths, p) {
			methods = append(methods, rt.Method)
		}
	}
	return strings.Join(methods, ", ")
}

// readOnWriter answers a GET or HEAD on a read path: 405 JSON that says
// where reads go, with Allow listing the methods this writer serves there.
func readOnWriter(allow string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
		api.WriteError(ctx, &condcache.Error{
			Code:   condcache.EMethodNotAllowed,
			Detail: fmt.Sprintf("Method %q not allowed. Reads are served by the readers; this is the writer.", ctx.Method()),
		})
	}
}

// options answers OPTIONS on a known path; the router has already set the
// Allow header.
func options(ctx *fasthttp.RequestCtx) {
	ctx.SetUserValue(routeKey{}, "options")
	api.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{}`))
}
