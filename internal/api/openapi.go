package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"

	"github.com/condcache/condcache/docs"
	"github.com/condcache/condcache/internal/wire"
)

// OpenAPIPath is where both servers serve the OpenAPI document of both APIs
// (docs/design.md "OpenAPI document"), outside either API prefix.
const OpenAPIPath = "/api/openapi.json"

// openAPICacheControl lets caches keep the document a few minutes; it
// changes only with the binary, and its ETag makes revalidation cheap.
const openAPICacheControl = "public, max-age=300"

// openAPI is the embedded document as JSON, with its ETag, converted on
// first use (a server's start-up) and shared by every server of the
// process.
var openAPI = sync.OnceValues(func() (openAPIDocument, error) {
	b, err := YAMLToJSON(docs.OpenAPIYAML)
	if err != nil {
		return openAPIDocument{}, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	sum := sha256.Sum256(b)
	return openAPIDocument{json: b, etag: []byte(`"` + hex.EncodeToString(sum[:]) + `"`)}, nil
})

type openAPIDocument struct{ json, etag []byte }

// OpenAPIJSON returns the OpenAPI document as served: docs/openapi.yaml
// converted to compact JSON, keys in the YAML's order.
func OpenAPIJSON() ([]byte, error) {
	d, err := openAPI()
	return d.json, err
}

// OpenAPIHandler answers GET OpenAPIPath with the document, its ETag and a
// 304 when the client has it. It converts the document when called, so a
// server calls it while building its router; it panics if the embedded
// document is not valid YAML, which the package's tests refuse.
func OpenAPIHandler() fasthttp.RequestHandler {
	d, err := openAPI()
	if err != nil {
		panic("api: " + err.Error())
	}
	return func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Response.Header
		h.SetBytesV(fasthttp.HeaderETag, d.etag)
		h.Set(fasthttp.HeaderCacheControl, openAPICacheControl)
		if noneMatch(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), d.etag) {
			ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
			ctx.Response.SkipBody = true
			return
		}
		WriteJSON(ctx, fasthttp.StatusOK, d.json)
	}
}

// noneMatch reports whether an If-None-Match list names tag or is "*"
// (weak comparison, RFC 9110 §13.1.2).
func noneMatch(inm, tag []byte) bool {
	for len(inm) > 0 {
		var item []byte
		item, inm, _ = bytes.Cut(inm, []byte(","))
		item = bytes.TrimPrefix(bytes.TrimSpace(item), []byte("W/"))
		if bytes.Equal(item, tag) || bytes.Equal(item, []byte("*")) {
			return true
		}
	}
	return false
}

// YAMLToJSON converts one YAML document to compact JSON, keeping the order
// of mapping keys (encoding through a Go map would sort them). Keys are
// taken as strings; a duplicate key, a merge key or a non-scalar key is an
// error, since JSON has no equivalent.
func YAMLToJSON(src []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var root, next yaml.Node
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) || root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("want exactly one YAML document")
	}
	return appendJSON(nil, root.Content[0])
}

func appendJSON(b []byte, n *yaml.Node) ([]byte, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return appendJSON(b, n.Alias)
	case yaml.MappingNode:
		b = append(b, '{')
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: only scalar keys can become JSON", k.Line)
			}
			if seen[k.Value] {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				b = append(b, ',')
			}
			b = wire.AppendString(b, k.Value)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, v); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case yaml.SequenceNode:
		b = append(b, '[')
		for i, v := range n.Content {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, v); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		if s, ok := v.(string); ok {
			return wire.AppendString(b, s), nil
		}
		return append(b, wire.Marshal(v)...), nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}
