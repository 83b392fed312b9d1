package reader

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
)

// Exports (docs/design.md "Export and offline serving"): GET
// /api/v2/gt/{name}/export[?from=&to=] answers a SQLite file of the GT,
// built in a temporary directory and streamed from disk.
const (
	// MaxExportIOVs bounds one export (about 3 GB of file at ~290 bytes
	// an IOV); beyond, the client exports ranges.
	MaxExportIOVs = 10_000_000
	// maxConcurrentExports are built at once by this process; more are
	// answered 503 with Retry-After.
	maxConcurrentExports = 2
	// exportTimeout bounds building one file.
	exportTimeout = 10 * time.Minute
	// exportContentType is the media type of an export file.
	exportContentType = "application/vnd.sqlite3"
	// HeaderExportIOVs is the number of IOVs an export file holds.
	HeaderExportIOVs = "X-Condcache-IOVs"
)

var exportSlots = make(chan struct{}, maxConcurrentExports)

func (s *Server) exportRoute(r *router.Router) {
	api.GET(r, api.V2Prefix+"gt/{name}/export", s.cfg.Metrics.Instrument("v2.Export", s.counting("v2.Export", s.handle("v2.Export", s.v2Export))))
}

// v2Export answers the export file of a GT: all of it, or the IOVs that
// can answer in [from, to]; ETag of the GT's generation and 304 as its
// other reads, X-Condcache-Digest the range digest of what it holds.
func (s *Server) v2Export(ctx *fasthttp.RequestCtx) error {
	gt, err := drf.TextParam(ctx, "name")
	if err != nil {
		return err
	}
	from, to, err := rangeParams(ctx, true)
	if err != nil {
		return err
	}
	_, hasFrom := drf.LastQueryArg(ctx.QueryArgs(), "from")
	rng := condcache.ExportRange{Whole: !hasFrom, From: from, To: to}
	if s.cfg.Exports == nil {
		return errNotAvailable("Exports")
	}
	// Unknown GT and 304 before any work: the lookup reads the GT's
	// generation and status in one statement.
	sctx, cancel := s.serviceContext()
	res, err := s.svc.LookupAt(sctx, gt, from, condcache.Freshness{Latest: true})
	cancel()
	if err != nil {
		return err
	}
	if !res.Found {
		return errUnknownGT(gt)
	}
	if setCaching(ctx, res.Generation, true, res.Status) {
		return nil
	}
	select {
	case exportSlots <- struct{}{}:
		defer func() { <-exportSlots }()
	default:
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "10")
		return condcache.Errorf(condcache.EUnavailable, "%d exports are being built: try again later.", maxConcurrentExports)
	}
	dir, err := os.MkdirTemp(s.cfg.ExportDir, "condcache-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir) // the open file outlives its name
	path := filepath.Join(dir, "export.sqlite")
	meta := s.cfg.ExportMeta
	meta.IOVMode, meta.MaxIOVs, meta.Time = s.cfg.IOVMode, MaxExportIOVs, time.Now()
	ectx, ecancel := context.WithTimeout(s.base, exportTimeout)
	info, err := s.cfg.Exports.Export(ectx, gt, rng, path, meta)
	ecancel()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	h := &ctx.Response.Header
	h.Set(api.HeaderDigest, info.Digest)
	h.Set(HeaderExportIOVs, strconv.FormatInt(info.IOVs, 10))
	if setCaching(ctx, info.Generation, true, info.Status) {
		f.Close()
		return nil
	}
	h.SetContentType(exportContentType)
	h.Set(fasthttp.HeaderContentDisposition, contentDisposition(exportFileName(gt, rng)))
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBodyStream(&deadlineFile{file: f, conn: ctx.Conn(), timeout: s.cfg.WriteTimeout}, int(info.Size))
	return nil
}

// exportFileName is "<gt>.sqlite", or "<gt>_<from>-<to>.sqlite" for a range.
func exportFileName(gt string, r condcache.ExportRange) string {
	if r.Whole {
		return gt + ".sqlite"
	}
	return gt + "_" + pointHeader(r.From) + "-" + pointHeader(r.To) + ".sqlite"
}

// contentDisposition names the download: an ASCII filename with anything
// unusual replaced by "_", and the exact name as RFC 8187 UTF-8.
func contentDisposition(name string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+", r)) {
			return r
		}
		return '_'
	}, name)
	return `attachment; filename="` + safe + `"; filename*=UTF-8''` + url.PathEscape(name)
}

// deadlineFile streams an export file: fasthttp sets the connection's
// write deadline once per response, so each read pushes it out by timeout
// again, and a large file on a slow link is cut off only when one chunk
// takes that long. fasthttp closes it after the response.
type deadlineFile struct {
	file    *os.File
	conn    net.Conn
	timeout time.Duration
}

func (d *deadlineFile) Read(p []byte) (int, error) {
	if d.conn != nil && d.timeout > 0 {
		_ = d.conn.SetWriteDeadline(time.Now().Add(d.timeout))
	}
	return d.file.Read(p)
}

func (d *deadlineFile) Close() error { return d.file.Close() }

// readOnly answers a write to a reader without a writer (an offline
// reader serving an export file).
func readOnly(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD, OPTIONS")
	api.WriteError(ctx, condcache.Errorf(condcache.EMethodNotAllowed,
		"This server is read-only (it serves an export file): %s is not allowed.", ctx.Method()))
}
