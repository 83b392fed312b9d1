// Package download fetches a GT's export file from a reader (GET
// /api/v2/gt/{name}/export, docs/design.md "Export and offline serving")
// into a local file: `condcache export`. The file is written under a
// temporary name beside the output and renamed once complete and checked,
// so an interrupted download leaves nothing half-written. It uses net/http
// and the sqlite package (to check the file), no server library.
package download

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/condcache/condcache/sqlite"
)

// Options say what to download and where.
type Options struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8000.
	URL       string
	GlobalTag string
	// From and To bound the export ("R" or "R.m"); both empty: the whole GT.
	From, To string
	// Out is the output file; "" is "<gt>.sqlite" in the working directory.
	Out string
	// Progress, if set, receives a progress bar (a terminal); Log, if set,
	// the final line.
	Progress io.Writer
	Log      io.Writer
	// Client defaults to an http.Client without a total timeout.
	Client *http.Client
}

// Result is what a download got.
type Result struct {
	Path    string
	Bytes   int64
	IOVs    int64
	Digest  string
	Elapsed time.Duration
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Export downloads the export and returns where it went. An answer other
// than 200 is an error carrying the server's JSON detail.
func Export(ctx context.Context, o Options) (Result, error) {
	var res Result
	if o.GlobalTag == "" {
		return res, errors.New("no global tag named")
	}
	if (o.From == "") != (o.To == "") {
		return res, errors.New("give both -from and -to, or neither")
	}
	u, err := exportURL(o)
	if err != nil {
		return res, err
	}
	res.Path = o.Out
	if res.Path == "" {
		res.Path = DefaultOut(o.GlobalTag)
	}
	client := o.Client
	if client == nil {
		client = &http.Client{}
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return res, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return res, answerError(resp)
	}
	res.Digest = resp.Header.Get("X-Condcache-Digest")
	res.IOVs, _ = strconv.ParseInt(resp.Header.Get("X-Condcache-IOVs"), 10, 64)

	dir, base := filepath.Split(res.Path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".part-*")
	if err != nil {
		return res, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var w io.Writer = tmp
	if o.Progress != nil {
		bar := progressbar.NewOptions64(resp.ContentLength,
			progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription(o.GlobalTag),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			// Shown at once, not at the first bytes: a slow server's
			// download is seen to have started.
			progressbar.OptionSetRenderBlankState(true),
		)
		defer bar.Close()
		w = io.MultiWriter(tmp, bar)
	}
	if res.Bytes, err = io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("download interrupted after %d bytes: %w", res.Bytes, err)
	}
	if resp.ContentLength >= 0 && res.Bytes != resp.ContentLength {
		return res, fmt.Errorf("download cut short: %d of %d bytes", res.Bytes, resp.ContentLength)
	}
	if err := tmp.Sync(); err != nil {
		return res, err
	}
	if err := tmp.Close(); err != nil {
		return res, err
	}
	if err := check(tmp.Name(), o.GlobalTag, res.Digest); err != nil {
		return res, err
	}
	if err := os.Rename(tmp.Name(), res.Path); err != nil {
		return res, err
	}
	done = true
	res.Elapsed = time.Since(start)
	if o.Log != nil {
		secs := max(res.Elapsed.Seconds(), 1e-9)
		fmt.Fprintf(o.Log, "%s: %d IOVs, %.1f MiB in %.2f s (%.0f IOVs/s, %.1f MiB/s), digest %s\n",
			res.Path, res.IOVs, float64(res.Bytes)/(1<<20), res.Elapsed.Seconds(),
			float64(res.IOVs)/secs, float64(res.Bytes)/(1<<20)/secs, res.Digest)
	}
	return res, nil
}

// DefaultOut is the default output file of GT gt: "<gt>.sqlite", with path
// separators and other troublesome characters replaced.
func DefaultOut(gt string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 32 || r == 127 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, gt)
	if safe == "." || safe == ".." {
		safe = "_"
	}
	return safe + ".sqlite"
}

func exportURL(o Options) (string, error) {
	base, err := url.Parse(o.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", o.URL)
	}
	u := strings.TrimSuffix(o.URL, "/") + "/api/v2/gt/" + url.PathEscape(o.GlobalTag) + "/export"
	if o.From != "" {
		u += "?" + url.Values{"from": {o.From}, "to": {o.To}}.Encode()
	}
	return u, nil
}

// StatusError is an answer other than 200: its status and what the
// server said.
type StatusError struct {
	Status int
	msg    string
}

func (e *StatusError) Error() string { return e.msg }

// answerError is the error of a non-200 answer: the server's JSON detail
// (and field messages) when it sent one, else the status and body.
func answerError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body map[string]any
	if json.Unmarshal(b, &body) == nil {
		var parts []string
		if d, ok := body["detail"].(string); ok {
			parts = append(parts, d)
		}
		for k, v := range body {
			if msgs, ok := v.([]any); ok {
				for _, m := range msgs {
					parts = append(parts, fmt.Sprintf("%s: %v", k, m))
				}
			}
		}
		if len(parts) > 0 {
			return &StatusError{resp.StatusCode, fmt.Sprintf("server answered %s: %s", resp.Status, strings.Join(parts, "; "))}
		}
	}
	return &StatusError{resp.StatusCode, fmt.Sprintf("server answered %s: %.200s", resp.Status, b)}
}

// check opens the downloaded file as an export of gt and compares its
// digest with the one the server announced.
func check(path, gt, digest string) error {
	r, err := sqlite.Open(path)
	if err != nil {
		return fmt.Errorf("the download is not a valid export file: %w", err)
	}
	defer r.Close()
	in := r.Info()
	if in.GlobalTag != gt {
		return fmt.Errorf("the download exports GlobalTag %q, not %q", in.GlobalTag, gt)
	}
	if digest != "" && in.Digest != digest {
		return fmt.Errorf("the download's digest %s differs from the server's %s", in.Digest, digest)
	}
	return nil
}
