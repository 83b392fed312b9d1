// Package verify checks the file records of one payload repository
// (docs/design.md "Payload repositories"; docs/operations.md "verify"):
// that each file exists at its URL and matches its IOV's size and
// checksum, and records what it found (exists, problem, the verification
// time) through the writer's API. It speaks HTTP to a reader (the records)
// and to the writer (the updates, directly or through the reader's proxy),
// and reads the files themselves over file:// or http(s)://.
package verify

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Defaults of Options.
const (
	DefaultBatch    = 500
	DefaultWorkers  = 4
	DefaultTimeout  = 10 * time.Minute
	listPageSize    = 1000
	maxErrorBody    = 4 << 10
	flushAfterAbort = 15 * time.Second
)

// Options configures Run.
type Options struct {
	// Reader is the base URL the records are read from (a reader, e.g.
	// http://127.0.0.1:8000); Writer the one updates are sent to (empty:
	// Reader, which proxies writes to the writer).
	Reader, Writer string
	// Token, if set, is sent as "Authorization: Bearer <Token>" with the
	// updates (the writer's JWT authentication).
	Token string
	// Repository is the name of the repository to verify.
	Repository string
	// Batch is the number of records per update request; Workers the
	// number of files checked at once; Timeout bounds the check of one
	// file (and each API request).
	Batch, Workers int
	Timeout        time.Duration
	// DryRun checks without recording anything.
	DryRun bool
	// Progress, if set, shows a progress bar (give it a terminal only).
	Progress io.Writer
	// Client is the HTTP client (nil: a default one).
	Client *http.Client
}

// Outcome of one file's check.
type Outcome string

// Outcomes.
const (
	OK      Outcome = "ok"
	Missing Outcome = "missing" // no file at the URL
	Differs Outcome = "differs" // there, but another size or checksum
	Failed  Outcome = "error"   // could not be checked (permission, server error): the record is left as it is
)

// Result is what the check of one record found.
type Result struct {
	ID      int64
	Path    string
	URL     string
	Outcome Outcome
	Problem string   // what is wrong, for every outcome but OK
	Checked []string // what was compared: "exists", "size", "md5", "sha256"
	At      time.Time
}

// Report is what Run found and did.
type Report struct {
	Repository string
	BaseURL    string
	Total      int // records of the repository
	Checked    int // records checked (all of them unless interrupted)
	Counts     map[Outcome]int
	// NoChecksum counts files whose IOV's checksum has no form verify
	// knows (only existence and size were compared).
	NoChecksum int
	Problems   []Result // every result but OK, in the order found
	Updated    int      // records updated
	// Interrupted is set when the context ended before every record was
	// checked; what was checked is recorded all the same.
	Interrupted bool
	// Elapsed is how long the check took, from the first record.
	Elapsed time.Duration
}

// record is a file record as GET /api/v2/files shows it.
type record struct {
	ID      int64  `json:"id"`
	Path    string `json:"path"`
	URL     string `json:"url"`
	Exists  bool   `json:"exists"`
	Payload *struct {
		URL      string `json:"url"`
		Checksum string `json:"checksum"`
		Size     *int64 `json:"size"`
	} `json:"payload"`
}

// patch is one element of PATCH /api/v2/files.
type patch struct {
	ID       int64   `json:"id"`
	Exists   bool    `json:"exists"`
	Verified string  `json:"verified"`
	Problem  *string `json:"problem"`
}

// Checksum algorithms verify knows, by the form of the IOV's checksum.
const (
	AlgoMD5    = "md5"
	AlgoSHA256 = "sha256"
)

// ParseChecksum recognises the form of an IOV's checksum: 32 hex digits
// (or "md5:" and 32) are an MD5, 64 hex digits (or "sha256:" and 64) a
// SHA-256, in either case. ok is false for any other form, which verify
// does not compare.
func ParseChecksum(s string) (algo, digest string, ok bool) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sha256:"):
		algo, digest = AlgoSHA256, lower[len("sha256:"):]
	case strings.HasPrefix(lower, "md5:"):
		algo, digest = AlgoMD5, lower[len("md5:"):]
	case len(lower) == 2*md5.Size:
		algo, digest = AlgoMD5, lower
	case len(lower) == 2*sha256.Size:
		algo, digest = AlgoSHA256, lower
	default:
		return "", "", false
	}
	want := map[string]int{AlgoMD5: md5.Size, AlgoSHA256: sha256.Size}[algo]
	if b, err := hex.DecodeString(digest); err != nil || len(b) != want {
		return "", "", false
	}
	return algo, digest, true
}

// client is Options with what Run derived.
type client struct {
	o    Options
	http *http.Client
}

// APIError is an API answer other than 200.
type APIError struct {
	Status int
	Detail string
}

func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Detail) }

// do sends a request to base+path and decodes a 200 answer into out.
func (c *client) do(ctx context.Context, method, base, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.o.Token != "" && method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+c.o.Token)
	}
	req.Header.Set("X-Condcache-Client", "condcache-verify")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		var e struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &e) != nil || e.Detail == "" {
			e.Detail = strings.TrimSpace(string(b))
		}
		return &APIError{Status: res.StatusCode, Detail: e.Detail}
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// Run verifies every file record of o.Repository. An error means the run
// could not be made (unknown repository, unsupported scheme, an API
// failure); missing and differing files are in the Report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Writer == "" {
		o.Writer = o.Reader
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	c := &client{o: o, http: o.Client}
	if c.http == nil {
		c.http = &http.Client{}
	}
	var repo struct {
		Name    string `json:"name"`
		BaseURL string `json:"base_url"`
	}
	if err := c.do(ctx, http.MethodGet, o.Reader, "/api/v2/repositories/"+url.PathEscape(o.Repository), nil, &repo); err != nil {
		return nil, fmt.Errorf("repository %q: %w", o.Repository, err)
	}
	u, err := url.Parse(repo.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("repository %q: base URL %q: %w", o.Repository, repo.BaseURL, err)
	}
	switch u.Scheme {
	case "file", "http", "https":
	default:
		return nil, fmt.Errorf("repository %q: verify reads file:// and http(s):// repositories, not %s:// (%s)", o.Repository, u.Scheme, repo.BaseURL)
	}
	recs, err := c.records(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Repository: repo.Name, BaseURL: repo.BaseURL, Total: len(recs), Counts: map[Outcome]int{}}
	start := time.Now()
	err = c.check(ctx, recs, rep)
	rep.Elapsed = time.Since(start)
	return rep, err
}

// records lists every record of the repository, page by page.
func (c *client) records(ctx context.Context) ([]record, error) {
	var out []record
	for page := 1; ; page++ {
		var p struct {
			TotalPages int64    `json:"total_pages"`
			Results    []record `json:"results"`
		}
		path := fmt.Sprintf("/api/v2/files?repository=%s&page=%d&page_size=%d", url.QueryEscape(c.o.Repository), page, listPageSize)
		if err := c.do(ctx, http.MethodGet, c.o.Reader, path, nil, &p); err != nil {
			return nil, fmt.Errorf("listing the records of %q: %w", c.o.Repository, err)
		}
		out = append(out, p.Results...)
		if int64(page) >= p.TotalPages || len(p.Results) == 0 {
			return out, nil
		}
	}
}

// check checks recs with o.Workers workers, records the results in
// batches, and fills rep. On interruption it stops checking, records what
// it found so far, and marks the report.
func (c *client) check(ctx context.Context, recs []record, rep *Report) error {
	var bar *progressbar.ProgressBar
	if c.o.Progress != nil {
		bar = progressbar.NewOptions(len(recs), progressbar.OptionSetWriter(c.o.Progress),
			progressbar.OptionSetDescription("verify "+rep.Repository), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.o.Progress) }))
	}
	type checked struct {
		Result
		noSum bool
	}
	jobs := make(chan record)
	results := make(chan checked)
	var wg sync.WaitGroup
	for range c.o.Workers {
		wg.Go(func() {
			for r := range jobs {
				res, noSum := c.checkOne(ctx, r)
				results <- checked{res, noSum}
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, r := range recs {
			select {
			case jobs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var pending []patch
	var flushErr error
	flush := func(fctx context.Context) {
		if len(pending) == 0 || c.o.DryRun || flushErr != nil {
			pending = pending[:0]
			return
		}
		var out []json.RawMessage
		if err := c.do(fctx, http.MethodPatch, c.o.Writer, "/api/v2/files", pending, &out); err != nil {
			flushErr = fmt.Errorf("recording the results: %w", err)
		} else {
			rep.Updated += len(out)
		}
		pending = pending[:0]
	}
	for x := range results {
		res := x.Result
		if ctx.Err() != nil && res.Outcome == Failed {
			continue // cut short by the interruption: not a finding
		}
		rep.Checked++
		rep.Counts[res.Outcome]++
		if x.noSum && res.Outcome == OK {
			rep.NoChecksum++
		}
		if res.Outcome != OK {
			rep.Problems = append(rep.Problems, res)
		}
		if res.Outcome != Failed {
			p := patch{ID: res.ID, Exists: res.Outcome == OK, Verified: res.At.UTC().Format(time.RFC3339Nano)}
			if res.Outcome != OK {
				p.Problem = &res.Problem
			}
			pending = append(pending, p)
		}
		if len(pending) >= c.o.Batch && ctx.Err() == nil {
			flush(ctx)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
		// What was found is true: record it, with a little time of its own.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushAfterAbort)
		defer cancel()
		flush(fctx)
	} else {
		flush(ctx)
	}
	if bar != nil && !rep.Interrupted {
		_ = bar.Finish()
	}
	return flushErr
}

// checkOne checks one record's file; noSum is set when the IOV's checksum
// has no form verify knows.
func (c *client) checkOne(ctx context.Context, r record) (res Result, noSum bool) {
	res = Result{ID: r.ID, Path: r.Path, URL: r.URL, At: time.Now()}
	fail := func(o Outcome, format string, args ...any) (Result, bool) {
		res.Outcome, res.Problem = o, fmt.Sprintf(format, args...)
		return res, noSum
	}
	if r.Payload == nil {
		return fail(Failed, "the record's IOV is gone")
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	body, missing, err := c.open(ctx, r.URL)
	if missing {
		return fail(Missing, "no file at %s", r.URL)
	}
	if err != nil {
		return fail(Failed, "%v", err)
	}
	defer body.Close()
	res.Checked = append(res.Checked, "exists")
	algo, want, ok := ParseChecksum(r.Payload.Checksum)
	noSum = !ok
	var h hash.Hash
	switch algo {
	case AlgoMD5:
		h = md5.New()
	case AlgoSHA256:
		h = sha256.New()
	}
	w := io.Discard
	if h != nil {
		w = h
	}
	n, err := io.Copy(w, ctxReader{ctx, body})
	if err != nil {
		return fail(Failed, "reading %s: %v", r.URL, err)
	}
	if r.Payload.Size != nil {
		res.Checked = append(res.Checked, "size")
		if n != *r.Payload.Size {
			return fail(Differs, "size %d bytes, the IOV says %d", n, *r.Payload.Size)
		}
	}
	if h != nil {
		res.Checked = append(res.Checked, algo)
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return fail(Differs, "%s %s, the IOV says %s", algo, got, want)
		}
	}
	res.Outcome = OK
	return res, noSum
}

// ctxReader stops reading once ctx is done, so that an interruption does
// not wait for the end of a large file.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// open opens the file at u: missing is set when there is none (no such
// file; HTTP 404 or 410).
func (c *client) open(ctx context.Context, u string) (body io.ReadCloser, missing bool, err error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, false, err
	}
	if pu.Scheme == "file" {
		f, err := os.Open(pu.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, true, nil
		} else if err != nil {
			return nil, false, err
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			f.Close()
			if err == nil {
				err = fmt.Errorf("%s is not a regular file", pu.Path)
			}
			return nil, false, err
		}
		return f, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, false, err
	}
	switch res.StatusCode {
	case http.StatusOK:
		return res.Body, false, nil
	case http.StatusNotFound, http.StatusGone:
		res.Body.Close()
		return nil, true, nil
	}
	res.Body.Close()
	return nil, false, fmt.Errorf("GET %s: HTTP %d", u, res.StatusCode)
}

// WriteText prints the report: one line per problem, then a summary.
func (r *Report) WriteText(w io.Writer) {
	for _, p := range r.Problems {
		fmt.Fprintf(w, "%-8s %-6d %s  %s\n", p.Outcome, p.ID, p.Path, p.Problem)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "repository %s (%s): %d of %d records checked: %d ok, %d missing, %d differ, %d could not be checked",
		r.Repository, r.BaseURL, r.Checked, r.Total, r.Counts[OK], r.Counts[Missing], r.Counts[Differs], r.Counts[Failed])
	if r.NoChecksum > 0 {
		fmt.Fprintf(w, "; %d checksums in no form verify knows (existence and size only)", r.NoChecksum)
	}
	fmt.Fprintf(w, "; %d records updated", r.Updated)
	if r.Elapsed > 0 {
		secs := r.Elapsed.Seconds()
		fmt.Fprintf(w, "; %.2f s (%.0f records/s)", secs, float64(r.Checked)/max(secs, 1e-9))
	}
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w, ".")
}
