// Package loadtest drives any server that speaks the Nopayloaddb-compatible
// API (condcache or Nopayloaddb itself): it loads data sets through the write
// API and, in later work, runs workloads and reports latency. This file is
// the small API client the rest builds on.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the REST API under BaseURL + "/api/cdb_rest/".
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8000
	HTTP    *http.Client
}

// NewClient returns a client with keep-alive connections and a timeout.
func NewClient(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// APIError is a non-200 answer.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// Do sends method path (relative to the API prefix) with body encoded as
// JSON (nil: no body) and decodes a 200 answer into out (nil: ignored).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+"/api/cdb_rest/"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}

// IOV is an IOV to create; a nil End means open-ended.
type IOV struct {
	URL, Checksum string
	Major, Minor  int64
	End           *[2]int64
}

// CreateStatus creates a GT status; an existing one is not an error.
func (c *Client) CreateStatus(ctx context.Context, name string) error {
	err := c.Do(ctx, http.MethodPost, "gtstatus", map[string]any{"name": name}, nil)
	if isConflict(err) {
		return nil
	}
	return err
}

// CreateGlobalTag creates an unlocked GT.
func (c *Client) CreateGlobalTag(ctx context.Context, name, author string) error {
	return c.Do(ctx, http.MethodPost, "gt", map[string]any{"name": name, "status": "unlocked", "author": author}, nil)
}

// CreatePayloadType creates a payload type; an existing one is not an error.
func (c *Client) CreatePayloadType(ctx context.Context, name string) error {
	err := c.Do(ctx, http.MethodPost, "pt", map[string]any{"name": name}, nil)
	if isConflict(err) {
		return nil
	}
	return err
}

// CreateAttachedList creates a list of type pt and attaches it to gt,
// returning the list name.
func (c *Client) CreateAttachedList(ctx context.Context, gt, pt string) (string, error) {
	var pl struct {
		Name string `json:"name"`
	}
	if err := c.Do(ctx, http.MethodPost, "pl", map[string]any{"payload_type": pt}, &pl); err != nil {
		return "", err
	}
	return pl.Name, c.Do(ctx, http.MethodPut, "pl_attach", map[string]any{"global_tag": gt, "payload_list": pl.Name}, nil)
}

// InsertIOV creates an IOV and attaches it to list (the C++ client's insert).
func (c *Client) InsertIOV(ctx context.Context, list string, iov IOV) error {
	body := map[string]any{"payload_url": iov.URL, "checksum": iov.Checksum, "major_iov": iov.Major, "minor_iov": iov.Minor}
	if iov.End != nil {
		body["major_iov_end"], body["minor_iov_end"] = iov.End[0], iov.End[1]
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := c.Do(ctx, http.MethodPost, "piov", body, &created); err != nil {
		return err
	}
	return c.Do(ctx, http.MethodPut, "piov_attach", map[string]any{"payload_list": list, "piov_id": created.ID}, nil)
}

// ChangeStatus sets a GT's status.
func (c *Client) ChangeStatus(ctx context.Context, gt, status string) error {
	return c.Do(ctx, http.MethodPut, "gt_change_status/"+url.PathEscape(gt)+"/"+url.PathEscape(status), nil, nil)
}

// Lookup returns the positional lookup rows of gt at (major, minor).
func (c *Client) Lookup(ctx context.Context, gt string, major, minor int64) ([][]any, error) {
	var rows [][]any
	q := url.Values{"gtName": {gt}, "majorIOV": {fmt.Sprint(major)}, "minorIOV": {fmt.Sprint(minor)}}
	err := c.Do(ctx, http.MethodGet, "payloadiovs/?"+q.Encode(), nil, &rows)
	return rows, err
}

func isConflict(err error) bool {
	e, ok := err.(*APIError)
	return ok && (e.Status == http.StatusConflict || e.Status == http.StatusBadRequest) && strings.Contains(e.Body, "already exists")
}

// Response is a raw answer: any status, the headers and the body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get sends GET path (relative to the API prefix) with extra headers given
// as name, value pairs, and returns the answer whatever its status.
func (c *Client) Get(ctx context.Context, path string, header ...string) (Response, error) {
	return c.GetRoot(ctx, "/api/cdb_rest/"+path, header...)
}

// GetRoot is Get for a path from the server root, e.g. "/metrics".
func (c *Client) GetRoot(ctx context.Context, path string, header ...string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return Response{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, err
}
