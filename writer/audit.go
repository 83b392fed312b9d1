package writer

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/redact"
)

// What the audit trail keeps of each write (docs/design.md "Audit trail"):
// who made it and a bounded summary of the request, with every secret
// removed, for it is stored.

// maxSummaryBody bounds the request body kept in an entry; bulk loads keep
// their first elements and a count.
const (
	maxSummaryBody     = 4 << 10
	summaryBulkPreview = 3
)

// writeMeta describes the request for the audit trail: the actor is the
// JWT subject, else the client identity (admission.ClientKey: the client header,
// else the address, the last X-Forwarded-For one behind a trusted proxy).
func (s *Server) writeMeta(ctx *fasthttp.RequestCtx, route string, claims auth.Claims) condcache.WriteMeta {
	actor := ""
	if sub, ok := claims["sub"].(string); ok && sub != "" {
		actor = "jwt:" + clean(sub)
	}
	if actor == "" {
		actor = admission.ClientKey(ctx, s.cfg.Admission.TrustForwarded)
	}
	return condcache.WriteMeta{Actor: actor, Endpoint: route, Request: summarizeRequest(ctx)}
}

// requestSummary is the stored summary of a request.
type requestSummary struct {
	Method       string `json:"method"`
	Path         string `json:"path"`
	Query        string `json:"query,omitempty"`
	Peer         string `json:"peer"`
	ForwardedFor string `json:"forwarded_for,omitempty"`
	Body         any    `json:"body,omitempty"`
}

func summarizeRequest(ctx *fasthttp.RequestCtx) json.RawMessage {
	sum := requestSummary{
		Method:       string(ctx.Method()),
		Path:         clean(string(ctx.Request.URI().PathOriginal())),
		Query:        clean(string(ctx.URI().QueryString())),
		Peer:         ctx.RemoteIP().String(),
		ForwardedFor: clean(string(ctx.Request.Header.Peek(fasthttp.HeaderXForwardedFor))),
		Body:         summarizeBody(ctx.Request.Body()),
	}
	b, err := json.Marshal(sum)
	if err != nil {
		return nil
	}
	return b
}

// summarizeBody keeps a JSON body with its strings cleaned: an array as its
// length and first elements, anything larger than maxSummaryBody as its
// size and keys.
func summarizeBody(body []byte) any {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] == '[' {
		return summarizeArray(body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return map[string]any{"bytes": len(body), "json": false}
	}
	v = cleanJSON(v)
	if arr, ok := v.([]any); ok {
		preview := arr[:min(len(arr), summaryBulkPreview)]
		return map[string]any{"elements": len(arr), "first": preview}
	}
	if b, err := json.Marshal(v); err == nil && len(b) <= maxSummaryBody {
		return v
	}
	out := map[string]any{"bytes": len(body)}
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		out["keys"] = keys
	}
	return out
}

// summarizeArray is summarizeBody for an array: its length and its first
// elements, cleaned. Only those are decoded: a bulk load's body has
// hundreds of thousands of elements, and cleaning every string of it took
// most of the writer's time (docs/design.md "Audit trail").
func summarizeArray(body []byte) any {
	dec := json.NewDecoder(bytes.NewReader(body))
	invalid := map[string]any{"bytes": len(body), "json": false}
	if _, err := dec.Token(); err != nil {
		return invalid
	}
	preview := []any{}
	n := 0
	for ; n < summaryBulkPreview && dec.More(); n++ {
		var v any
		if err := dec.Decode(&v); err != nil {
			return invalid
		}
		preview = append(preview, cleanJSON(v))
	}
	if n == summaryBulkPreview {
		rest, ok := countElements(body[dec.InputOffset():])
		if !ok {
			return invalid
		}
		return map[string]any{"elements": n + rest, "first": preview}
	}
	if _, err := dec.Token(); err != nil { // ]
		return invalid
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid // trailing data
	}
	return map[string]any{"elements": n, "first": preview}
}

// countElements counts the elements of the rest of an array, rest
// starting after an element (at its "," or the closing "]"), by their
// separating commas at depth 0 outside strings: the summary's count, not a
// validation (the handler parses the body itself, and nothing is audited
// unless it accepts it). False when the brackets do not balance or
// anything but space follows the closing "]".
func countElements(rest []byte) (int, bool) {
	n, depth, inString, escaped := 0, 0, false, false
	for i, c := range rest {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth == 0 {
				return n, c == ']' && len(bytes.TrimSpace(rest[i+1:])) == 0
			}
			depth--
		case c == ',' && depth == 0:
			n++
		}
	}
	return 0, false
}

// cleanJSON cleans every string of a decoded JSON value.
func cleanJSON(v any) any {
	switch x := v.(type) {
	case string:
		return clean(x)
	case []any:
		for i := range x {
			x[i] = cleanJSON(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[clean(k)] = cleanJSON(e)
		}
		return out
	}
	return v
}

// clean removes credentials (redact.Credentials) and what PostgreSQL's
// jsonb cannot store (NUL).
func clean(s string) string {
	return strings.ReplaceAll(redact.Credentials(s), "\x00", "\uFFFD")
}
