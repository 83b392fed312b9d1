package reader

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/internal/wire"
)

// writerProxy forwards write requests to the single writer. Readers accept
// writes so that a client configured with one base URL works (docs/design.md
// "Processes"); the writer alone decides what they do, including
// authentication, so requests and answers pass through unchanged apart
// from hop-by-hop headers.
type writerProxy struct {
	client *fasthttp.HostClient
	origin string // scheme://host:port of the writer
	base   string // path prefix of WriterURL, without a trailing slash
}

// newWriterProxy returns a proxy to the writer at rawURL, or nil and the
// reason when rawURL is unusable.
func newWriterProxy(rawURL string, timeout time.Duration, maxBody int) (*writerProxy, error) {
	if rawURL == "" {
		return nil, errors.New("no writer URL configured")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("writer URL %q is not an http(s) URL", redact.Credentials(rawURL))
	}
	tls := u.Scheme == "https"
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if tls {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	return &writerProxy{
		client: &fasthttp.HostClient{
			Addr:                     host,
			IsTLS:                    tls,
			Name:                     "condcache-reader",
			ReadTimeout:              timeout,
			WriteTimeout:             timeout,
			MaxConns:                 512,
			MaxConnWaitTimeout:       5 * time.Second,
			MaxResponseBodySize:      maxBody,
			DisablePathNormalizing:   true, // forward the raw path; the writer routes on it as we do
			NoDefaultUserAgentHeader: true,
			// A write is never retried: fasthttp would retry PUTs after an
			// error that does not prove the writer did nothing, and a
			// repeated attach can fail on its own first success. Idle
			// connections are dropped well before the writer's idle timeout
			// so a pooled connection is rarely stale.
			MaxIdemponentCallAttempts: 1,
			MaxIdleConnDuration:       5 * time.Second,
			SecureErrorLogMessage:     true,
		},
		origin: u.Scheme + "://" + host,
		base:   strings.TrimSuffix(u.EscapedPath(), "/"),
	}, nil
}

// hopByHop are the headers that belong to one connection, not to the
// request (RFC 9110 §7.6.1), and so are not forwarded either way.
var hopByHop = []string{
	fasthttp.HeaderConnection, "Keep-Alive", "Proxy-Connection", fasthttp.HeaderProxyAuthenticate,
	fasthttp.HeaderProxyAuthorization, fasthttp.HeaderTE, fasthttp.HeaderTrailer,
	fasthttp.HeaderTransferEncoding, fasthttp.HeaderUpgrade,
}

// proxyWrite forwards a write request to the writer and relays its answer:
// method, path, query, body and end-to-end headers (Content-Type,
// Authorization, …) go through unchanged; the writer's status, headers and
// body come back unchanged. A writer that cannot be reached gives 503
// {"detail":"writer unavailable: …","code":"unavailable"}, never 504 (the
// C++ client retries 504, and a write must not be repeated blindly).
func (s *Server) proxyWrite(ctx *fasthttp.RequestCtx) {
	p := s.proxy
	if p == nil {
		s.writerUnavailable(ctx, errors.New("no writer configured"))
		return
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	ctx.Request.Header.CopyTo(&req.Header)
	// Connection-specific headers, and any the client named in Connection.
	for _, name := range bytes.Split(ctx.Request.Header.Peek(fasthttp.HeaderConnection), []byte{','}) {
		if name = bytes.TrimSpace(name); len(name) > 0 {
			req.Header.DelBytes(name)
		}
	}
	for _, h := range hopByHop {
		req.Header.Del(h)
	}
	req.Header.ResetConnectionClose()
	req.Header.Del(fasthttp.HeaderExpect) // the body is already here

	uri := make([]byte, 0, len(p.origin)+len(p.base)+len(ctx.Request.URI().PathOriginal())+len(ctx.URI().QueryString())+1)
	uri = append(uri, p.origin...)
	uri = append(uri, p.base...)
	uri = append(uri, ctx.Request.URI().PathOriginal()...)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		uri = append(uri, '?')
		uri = append(uri, q...)
	}
	req.SetRequestURIBytes(uri)
	setForwarded(&req.Header, ctx)
	req.SetBodyRaw(ctx.Request.Body()) // the client's request outlives this synchronous call

	if err := p.client.Do(req, resp); err != nil {
		s.writerUnavailable(ctx, err)
		return
	}

	resp.Header.CopyTo(&ctx.Response.Header)
	for _, h := range hopByHop {
		ctx.Response.Header.Del(h)
	}
	// The writer closing its connection says nothing about ours.
	ctx.Response.Header.ResetConnectionClose()
	ctx.Response.SetBody(resp.Body())
}

// setForwarded records the client and the original host for the writer's
// logs, appending to what earlier proxies recorded.
func setForwarded(h *fasthttp.RequestHeader, ctx *fasthttp.RequestCtx) {
	ip := ctx.RemoteIP().String()
	if prior := ctx.Request.Header.Peek(fasthttp.HeaderXForwardedFor); len(prior) > 0 {
		ip = string(prior) + ", " + ip
	}
	h.Set(fasthttp.HeaderXForwardedFor, ip)
	if len(ctx.Request.Header.Peek(fasthttp.HeaderXForwardedHost)) == 0 {
		h.SetBytesV(fasthttp.HeaderXForwardedHost, ctx.Host())
	}
	if len(ctx.Request.Header.Peek(fasthttp.HeaderXForwardedProto)) == 0 {
		proto := "http"
		if ctx.IsTLS() {
			proto = "https"
		}
		h.Set(fasthttp.HeaderXForwardedProto, proto)
	}
}

// writerUnavailable answers a write the writer could not take. The reason
// is the transport error (it names the writer's address, never the
// request's headers).
func (s *Server) writerUnavailable(ctx *fasthttp.RequestCtx, err error) {
	reason := redact.Credentials(err.Error())
	s.log.Warn("writer unavailable", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", reason)
	body := append([]byte(nil), `{"detail":`...)
	body = wire.AppendString(body, "writer unavailable: "+reason)
	body = append(body, `,"code":`...)
	body = wire.AppendString(body, string(condcache.EUnavailable))
	body = append(body, '}')
	ctx.Response.Reset()
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
	api.WriteJSON(ctx, condcache.EUnavailable.HTTPStatus(), body)
}
