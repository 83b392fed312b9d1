package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseChecksum(t *testing.T) {
	md5Hex := strings.Repeat("0a", 16)
	shaHex := strings.Repeat("b1", 32)
	for _, c := range []struct {
		in, algo, digest string
	}{
		{md5Hex, AlgoMD5, md5Hex},
		{strings.ToUpper(md5Hex), AlgoMD5, md5Hex},
		{"md5:" + md5Hex, AlgoMD5, md5Hex},
		{shaHex, AlgoSHA256, shaHex},
		{"sha256:" + shaHex, AlgoSHA256, shaHex},
		{"SHA256:" + strings.ToUpper(shaHex), AlgoSHA256, shaHex},
		{" " + shaHex + "\n", AlgoSHA256, shaHex},
		{"", "", ""},
		{"e99a18c4", "", ""},                          // adler32-like: not compared
		{"sha256:" + md5Hex, "", ""},                  // prefix and length disagree
		{"md5:" + shaHex, "", ""},                     // same
		{strings.Repeat("zz", 16), "", ""},            // not hex
		{"adler32:" + strings.Repeat("0", 8), "", ""}, // unknown algorithm
	} {
		algo, digest, ok := ParseChecksum(c.in)
		if algo != c.algo || digest != c.digest || ok != (c.algo != "") {
			t.Errorf("ParseChecksum(%q) = %q %q %v, want %q %q", c.in, algo, digest, ok, c.algo, c.digest)
		}
	}
}

// fakeAPI is a reader and writer holding one repository's records, files
// served by files.
type fakeAPI struct {
	mu      sync.Mutex
	base    string
	records []record
	patches [][]patch
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && r.URL.Path == "/api/v2/repositories/r":
		fmt.Fprintf(w, `{"name":"r","base_url":%q}`, f.base)
	case r.Method == "GET" && r.URL.Path == "/api/v2/files":
		_ = json.NewEncoder(w).Encode(map[string]any{"total_pages": 1, "results": f.records})
	case r.Method == "PATCH" && r.URL.Path == "/api/v2/files":
		var ps []patch
		_ = json.NewDecoder(r.Body).Decode(&ps)
		f.patches = append(f.patches, ps)
		out := make([]map[string]any, len(ps))
		for i, p := range ps {
			out[i] = map[string]any{"id": p.ID}
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{"detail":"Not found.","code":"not_found"}`)
	}
}

// TestRunInterrupted: an interruption stops the checks at once (a file
// being read is abandoned, the rest never started), and what was found
// is recorded all the same.
func TestRunInterrupted(t *testing.T) {
	entered := make(chan struct{})
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "a")
	}))
	t.Cleanup(files.Close)
	api := &fakeAPI{base: files.URL + "/"}
	one := int64(1)
	for i, p := range []string{"a", "slow", "c"} {
		r := record{ID: int64(i + 1), Path: p, URL: files.URL + "/" + p}
		r.Payload = &struct {
			URL      string `json:"url"`
			Checksum string `json:"checksum"`
			Size     *int64 `json:"size"`
		}{URL: p, Size: &one}
		api.records = append(api.records, r)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	start := time.Now()
	rep, err := Run(ctx, Options{Reader: srv.URL, Repository: "r", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v after the interruption", d)
	}
	if !rep.Interrupted || rep.Checked != 1 || rep.Counts[OK] != 1 || rep.Updated != 1 {
		t.Errorf("report %+v, want interrupted after one good file, recorded", rep)
	}
	if len(api.patches) != 1 || len(api.patches[0]) != 1 || api.patches[0][0].ID != 1 || !api.patches[0][0].Exists {
		t.Errorf("updates sent: %+v, want record 1 found", api.patches)
	}
}
