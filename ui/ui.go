// Package ui is the web UI the readers serve at /ui/ (docs/design.md "Web
// UI"): server-rendered html/template pages over the domain's read
// interfaces, with a little plain JavaScript (static/app.js) for the
// writes, which the browser sends to the reader's own API and so through
// its proxy to the writer, with the user's token as the Bearer header.
// Templates and assets are embedded; there is no build step. The package
// imports no storage client: it reads through condcache.ReadService and
// the other interfaces of the root package (docs/design.md "Layering").
package ui

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/redact"
)

// Prefix is where the UI is served.
const Prefix = "/ui/"

// DefaultRequestTimeout bounds the service calls of one page.
const DefaultRequestTimeout = 30 * time.Second

// ContentSecurityPolicy is sent with every answer: scripts and styles only
// from the UI's own files (no inline script, style or style attribute, no
// eval), requests only to this origin, no framing, forms posting nowhere
// else. Notice descriptions may show images, from anywhere https or data:.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Config says what the UI reads. Read is required; a nil service hides
// the pages and sections that need it ("not available on this server").
type Config struct {
	Read         condcache.ReadService
	Ranges       condcache.RangeReader
	Notices      condcache.NoticeReader
	Audit        condcache.AuditReader
	Usage        condcache.UsageReader
	Checker      condcache.Checker
	Protection   condcache.ProtectionReader
	Repositories condcache.RepositoryReader
	// IOVMode is the reader's CDB_IOV_MODE, for strict answers.
	IOVMode condcache.IOVMode
	// ReadOnly hides every action: the server takes no writes (an
	// offline reader).
	ReadOnly bool
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds the service calls of one page; zero:
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// UI serves the pages. Create it with New.
type UI struct {
	cfg     Config
	log     *slog.Logger
	pages   map[string]*template.Template
	assets  map[string]asset
	version string // of the assets, in their URLs
}

type asset struct {
	body        []byte
	contentType string
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the UI of cfg. It panics when a template does not parse: a
// programming error the tests catch.
func New(cfg Config) *UI {
	if cfg.Read == nil {
		panic("ui: Config.Read is required")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.IOVMode == "" {
		cfg.IOVMode = condcache.ModeContinuous
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{cfg: cfg, log: cfg.Logger.With("component", "ui"), assets: map[string]asset{}}
	h := sha256.New()
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		u.assets[p] = asset{body: b, contentType: ct}
		return nil
	})
	if err != nil {
		panic(err)
	}
	u.version = hex.EncodeToString(h.Sum(nil))[:12]
	u.pages = parsePages()
	return u
}

// Handler answers every request under Prefix.
func (u *UI) Handler(ctx *fasthttp.RequestCtx) {
	setSecurityHeaders(ctx)
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
		u.errorPage(ctx, condcache.Errorf(condcache.EMethodNotAllowed, "The web UI only reads; its actions call the API."))
		return
	}
	p := string(ctx.Path())
	name, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		u.errorPage(ctx, condcache.Errorf(condcache.ENotFound, "Not found."))
		return
	}
	if strings.HasPrefix(name, "static/") {
		u.static(ctx, name)
		return
	}
	h, ok := u.routes()[name]
	if !ok {
		u.errorPage(ctx, condcache.Errorf(condcache.ENotFound, "There is no page %q here.", name))
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), u.cfg.RequestTimeout)
	defer cancel()
	if err := h(sctx, ctx); err != nil {
		u.errorPage(ctx, err)
	}
}

// setSecurityHeaders: the policy, and nothing sniffed, framed or leaked in
// a Referer (page URLs hold names users may consider private).
func setSecurityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func (u *UI) static(ctx *fasthttp.RequestCtx, name string) {
	a, ok := u.assets[name]
	if !ok {
		u.errorPage(ctx, condcache.Errorf(condcache.ENotFound, "Not found."))
		return
	}
	ctx.Response.Header.SetContentType(a.contentType)
	// Asset URLs carry their version: a new build asks for new URLs.
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "public, max-age=86400")
	ctx.Response.SetBody(a.body)
}

// handler renders one page; an error it returns is answered by errorPage.
type handler func(sctx context.Context, ctx *fasthttp.RequestCtx) error

// page is what every template gets.
type page struct {
	Title    string
	Nav      string // the menu entry to highlight
	Version  string // of the assets
	ReadOnly bool
	Data     any
}

// render answers 200 with template name filled with data.
func (u *UI) render(ctx *fasthttp.RequestCtx, name, title, nav string, data any) error {
	return u.renderStatus(ctx, fasthttp.StatusOK, name, title, nav, data)
}

func (u *UI) renderStatus(ctx *fasthttp.RequestCtx, status int, name, title, nav string, data any) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("ui: no template %q", name)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", page{Title: title, Nav: nav, Version: u.version, ReadOnly: u.cfg.ReadOnly, Data: data}); err != nil {
		return err
	}
	ctx.Response.Header.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetStatusCode(status)
	ctx.SetBodyString(b.String())
	return nil
}

// errorData is the error page's: the server's detail, as the API says it,
// and what the page was asked for (the detail quotes names in Go syntax,
// so a name with quotes or other scripts shows here as it was typed).
type errorData struct {
	Status int
	Code   string
	Detail string
	Asked  []askedParam
}

type askedParam struct{ Key, Value string }

// maxAsked bounds how many parameters, and how many characters of each,
// an error page repeats.
const maxAsked = 12
const maxAskedLen = 300

func askedFor(ctx *fasthttp.RequestCtx) []askedParam {
	var out []askedParam
	for k, v := range ctx.QueryArgs().All() {
		if len(out) == maxAsked {
			break
		}
		val := []rune(string(v))
		if len(val) > maxAskedLen {
			val = append(val[:maxAskedLen], '…')
		}
		out = append(out, askedParam{Key: string(k), Value: string(val)})
	}
	return out
}

// errorPage answers err as a page with its status: application errors
// with their detail, anything else as 500 (cause logged, credentials cut)
// or, for a service call that ran out of time, 503.
func (u *UI) errorPage(ctx *fasthttp.RequestCtx, err error) {
	code := condcache.ErrorCodeOf(err)
	detail := condcache.ErrorDetail(err)
	var ae *condcache.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		code, detail = condcache.EUnavailable, "The page took too long to read; try again, or narrow it."
	default:
		u.log.Error("page failed", "path", redact.Credentials(string(ctx.Path())), "err", redact.Credentials(err.Error()))
		code, detail = condcache.EInternal, "Internal error."
	}
	status := code.HTTPStatus()
	if status == 0 {
		status = fasthttp.StatusInternalServerError
	}
	if code == condcache.EUnavailable {
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
	}
	ctx.Response.Reset()
	setSecurityHeaders(ctx)
	if rerr := u.renderStatus(ctx, status, "error.html", fmt.Sprintf("%d %s", status, fasthttp.StatusMessage(status)), "",
		errorData{Status: status, Code: string(code), Detail: detail, Asked: askedFor(ctx)}); rerr != nil {
		u.log.Error("error page failed", "err", rerr)
		ctx.SetStatusCode(status)
		ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(detail)
	}
}
