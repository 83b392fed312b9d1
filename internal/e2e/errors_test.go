package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// docs/compatibility.md "Conventions" (malformed JSON, 415) and §8, DESIGN decision 3 (4xx JSON,
// nothing written): bad input classes across the write endpoints.

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	c.mustInsert(gt, pt, uniqz("a"), P{0, 0}, open)
	before := c.snap(gt)
	name := uniqz("malformed")

	writes := []struct{ method, path string }{
		{"POST", "gtstatus"}, {"POST", "global-tags/statuses"}, {"POST", "gt"},
		{"POST", "pt"}, {"POST", "payload-types"}, {"POST", "pl"}, {"POST", "payload-lists"},
		{"POST", "piov"}, {"POST", "payload-iovs"}, {"POST", "bulk_piov"}, {"POST", "payload-iovs/bulk"},
		{"PUT", "pl_attach"}, {"PUT", "payload-lists/attach"}, {"PUT", "piov_attach"}, {"PUT", "payload-iovs/attach"},
	}
	bodies := []string{
		`{"name": "` + name + `", `,
		`{"name": "` + name + `"`,
		`[{"payload_url": "` + name + `", "major_iov": 0, "minor_iov": 0, "payload_list": "` + pl + `"}`,
		`{name: "` + name + `"}`,
		`{"name": "` + name + `"}}`,
		"\xff\xfe",
	}
	for _, w := range writes {
		for _, b := range bodies {
			r := c.do(w.method, w.path, Raw{"application/json", []byte(b)})
			m := wantErr(t, r, "invalid", "", 400)
			if d, _ := m["detail"].(string); !strings.HasPrefix(d, "JSON parse error - ") {
				t.Errorf("%s: detail %q, want \"JSON parse error - …\"", r, d)
			}
		}
		// Unsupported content types: 415 with the DRF text.
		for _, ct := range []string{"text/plain", "application/xml"} {
			r := c.do(w.method, w.path, Raw{ct, []byte(`{"name":"` + name + `"}`)})
			wantStatus(t, r, 415)
			if m, ok := r.JSON.(map[string]any); !ok || m["detail"] != fmt.Sprintf("Unsupported media type %q in request.", ct) {
				t.Errorf("%s: want detail %q", r, fmt.Sprintf("Unsupported media type %q in request.", ct))
			}
		}
	}
	// JSON with a charset parameter is JSON.
	r := c.do("POST", "pt", Raw{"application/json; charset=utf-8", []byte(`{"name":"` + name + `ok"}`)})
	wantStatus(t, r, 200)

	// Nothing was written by the refused requests.
	if _, ok := statusNames(c, "gtstatus")[name]; ok {
		t.Errorf("a refused request created status %s", name)
	}
	if c.gtNames()[name] || c.ptNames()[name] {
		t.Errorf("a refused request created %s", name)
	}
	if n := c.countPIOVs(name); n != 0 {
		t.Errorf("refused requests created %d IOVs", n)
	}
	c.wantUnchanged(gt, before)

	// Path segments that do not match <int> are 404, JSON.
	for _, p := range []string{"piov/abc", "piov/-1", "pl/1x", "payload-iovs/1.5"} {
		wantStatus(t, c.get(p), 404)
	}
}

// rawRequest sends a request with a declared Content-Length, streaming the
// body from gen in the background, and returns the response status and
// body. The server may answer (and close) before the body is sent.
func rawRequest(t *testing.T, base, method, path string, length int64, gen func(w *bufio.Writer) error) (int, string, http.Header) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		method, apiPrefix, path, u.Host, length)
	go func() {
		w := bufio.NewWriterSize(conn, 1<<16)
		if gen(w) == nil {
			_ = w.Flush()
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response to a %d-byte body: %v", length, err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for sb.Len() < 1<<20 {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, sb.String(), res.Header
}

func TestOversizeBody(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	prefix := uniqz("huge")
	elem := fmt.Sprintf(`{"payload_url":"%s_x","major_iov":0,"minor_iov":0,"payload_list":"%s"}`, prefix, pl)
	const target = 100 << 20 // 100 MiB
	n := int64(target / (len(elem) + 1))
	length := 1 + n*int64(len(elem)+1) - 1 + 1 // "[" + n elements joined by "," + "]"
	gen := func(w *bufio.Writer) error {
		if _, err := w.WriteString("["); err != nil {
			return err
		}
		for i := int64(0); i < n; i++ {
			if i > 0 {
				if _, err := w.WriteString(","); err != nil {
					return err
				}
			}
			if _, err := w.WriteString(elem); err != nil {
				return err
			}
		}
		_, err := w.WriteString("]")
		return err
	}
	for _, base := range []string{servers.WriterURL, servers.ReaderURL} {
		for _, path := range []string{"bulk_piov", "pt"} {
			status, body, hdr := rawRequest(t, base, "POST", path, length, gen)
			if status != http.StatusRequestEntityTooLarge {
				t.Errorf("%s POST %s with %d bytes: %d %.200s, want 413", base, path, length, status, body)
			}
			if body != "" && !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("%s: 413 body is not JSON: %q %.200s", base, hdr.Get("Content-Type"), body)
			}
		}
	}
	if got := c.countPIOVs(prefix); got != 0 {
		t.Errorf("oversize bulk wrote %d IOVs", got)
	}
	if got := c.iovsOf(gt, pt); len(got) != 0 {
		t.Errorf("oversize bulk attached %d IOVs", len(got))
	}
	// Both processes still serve.
	c.ok("GET", "globalTags", nil)
	newClient(t, servers.WriterURL).ok("GET", "/healthz", nil)
}
