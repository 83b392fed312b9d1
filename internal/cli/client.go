package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Client speaks the compatible API (/api/cdb_rest/) and condcache's v2
// API (/api/v2/) of one server: a reader, which forwards writes to the
// writer, or a writer for writes alone.
type Client struct {
	Base  string // e.g. http://127.0.0.1:8000
	Token string
	HTTP  *http.Client
	// Agent is sent as X-Condcache-Client, so that the server's metrics,
	// access accounting and audit trail name the CLI.
	Agent string
}

// Prefixes of the two APIs.
const (
	Compat = "/api/cdb_rest/"
	V2     = "/api/v2/"
)

// NewClient is a client of base; timeout bounds each request (0: none).
func NewClient(base, token string, timeout time.Duration) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: timeout}, Agent: "condcache-cli"}
}

// APIError is an answer other than 2xx: the status and the server's
// detail, code and field messages.
type APIError struct {
	Method, Path string
	Status       int
	Detail       string
	Code         string
	Fields       map[string][]string
}

func (e *APIError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var fields []string
	for k, v := range e.Fields {
		// The detail often says it already (condcache's "name: …").
		if f := strings.Join(v, " "); e.Detail == "" || !strings.Contains(e.Detail, f) {
			fields = append(fields, k+": "+f)
		}
	}
	sort.Strings(fields)
	if len(fields) > 0 {
		if e.Detail == "" {
			msg = strings.Join(fields, "; ")
		} else {
			msg += " (" + strings.Join(fields, "; ") + ")"
		}
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// UnreachableError is a request that got no answer.
type UnreachableError struct {
	Base string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", e.Base, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Request is one call.
type Request struct {
	Method string
	Path   string // under the base URL, e.g. Compat + "gt"
	Query  url.Values
	Body   any // JSON-encoded unless it is []byte or an io.Reader
	// DryRun adds dry_run=1: the write is made and rolled back, and the
	// answer is a DryRun.
	DryRun bool
	Force  bool
}

// Do makes the request and decodes a 2xx JSON answer into out (nil: the
// answer is read and dropped). Writes carry the token.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		b, err := io.ReadAll(resp.Body)
		*raw = b
		return c.readErr(err)
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return c.readErr(fmt.Errorf("%s %s: the answer is not the expected JSON: %w", r.Method, r.Path, err))
	}
	return nil
}

func (c *Client) readErr(err error) error {
	if err == nil {
		return nil
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &UnreachableError{Base: c.Base, Err: err}
	}
	return err
}

// send makes the request and returns a 2xx response, else an error.
func (c *Client) send(ctx context.Context, r Request) (*http.Response, error) {
	q := url.Values{}
	for k, v := range r.Query {
		q[k] = v
	}
	if r.DryRun {
		q.Set("dry_run", "1")
	}
	if r.Force {
		q.Set("force", "1")
	}
	u := c.Base + r.Path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return nil, Usagef("%v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Agent != "" {
		req.Header.Set("X-Condcache-Client", c.Agent)
	}
	if c.Token != "" && r.Method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Base: c.Base, Err: unwrapURL(err)}
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, answerError(r, resp)
	}
	return resp, nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// answerError reads an error answer's detail, code and field arrays.
func answerError(r Request, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Method: r.Method, Path: r.Path, Status: resp.StatusCode}
	var body map[string]json.RawMessage
	if json.Unmarshal(b, &body) == nil {
		for k, v := range body {
			switch k {
			case "detail":
				_ = json.Unmarshal(v, &e.Detail)
			case "code":
				_ = json.Unmarshal(v, &e.Code)
			default:
				var msgs []string
				if json.Unmarshal(v, &msgs) == nil {
					if e.Fields == nil {
						e.Fields = map[string][]string{}
					}
					e.Fields[k] = msgs
				}
			}
		}
	} else {
		e.Detail = strings.TrimSpace(string(b))
		if len(e.Detail) > 300 {
			e.Detail = e.Detail[:300] + "…"
		}
	}
	return e
}

// Get is Do for a GET.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	return c.Do(ctx, Request{Method: http.MethodGet, Path: path, Query: q}, out)
}

// Stream makes a GET and returns the 2xx response for the caller to read
// (an export file).
func (c *Client) Stream(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	return c.send(ctx, Request{Method: http.MethodGet, Path: path, Query: q})
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// Page is a browse page of the compatible API or a v2 listing.
type Page[T any] struct {
	Count      int64 `json:"count"`
	Page       int64 `json:"page"`
	PageSize   int64 `json:"page_size"`
	TotalPages int64 `json:"total_pages"`
	Results    []T   `json:"results"`
}

// All reads every page of a browse listing (page_size 1000).
func All[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		pq.Set("page", fmt.Sprint(page))
		pq.Set("page_size", "1000")
		var p Page[T]
		if err := c.Get(ctx, path, pq, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Results...)
		if int64(page) >= p.TotalPages || len(p.Results) == 0 {
			return out, nil
		}
	}
}
