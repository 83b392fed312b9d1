package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
)

// TestNoSecretLeaks: with a database password and a JWT secret
// configured, neither shows in any answer of either process (health,
// readiness, metrics, settings, refused writes, lookups) nor in their
// logs, also while the primary is down and every error path logs. The
// secrets are random, so any occurrence is a leak. Protection: the
// redaction of database URLs in logs and errors (cmd/condcache redactDSN,
// api.redact.Credentials); with it removed the writer logs the password at
// start-up.
func TestNoSecretLeaks(t *testing.T) {
	password, secret := randomHex(t, "pw-"), randomHex(t, "jwt-")
	tp := start(t, localstack.Options{Replicas: 1, Redis: true}, localstack.ServerOptions{Password: password,
		Env: []string{"CDB_AUTH_CLASS=jwt", "JWT_SECRET=" + secret}})
	reader, writer := tp.servers.ReaderURL, tp.servers.WriterURL
	var seen strings.Builder
	get := func(method, url string, header ...string) {
		req, err := http.NewRequest(method, url, strings.NewReader(`{"name":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := httpClient.Do(req)
		if err != nil {
			seen.WriteString(err.Error())
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for k, v := range res.Header {
			seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		seen.Write(b)
	}
	probe := func() {
		for _, base := range []string{reader, writer} {
			for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/cdb_rest/user_settings/CDB_AUTH_CLASS/",
				"/api/cdb_rest/payloadiovs/?gtName=none&majorIOV=1&minorIOV=0", "/api/cdb_rest/globalTags"} {
				get("GET", base+path)
			}
			get("POST", base+"/api/cdb_rest/gt")
			get("POST", base+"/api/cdb_rest/gt", "Authorization", "Bearer not.a.token")
			get("POST", base+"/api/cdb_rest/gt", "Authorization", "Basic "+secret)
		}
	}
	probe()
	// With the primary down every error path runs and logs.
	if err := tp.stack.Primary.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	probe()
	if err := tp.stack.Primary.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the writer is ready again", func() bool {
		status, _, err := call("GET", writer+"/readyz", nil)
		return err == nil && status == 200
	})
	probe()

	answers := seen.String()
	var logs strings.Builder
	for _, s := range []*localstack.Server{tp.servers.Writer, tp.servers.Reader} {
		b, err := os.ReadFile(s.LogFile())
		if err != nil {
			t.Fatal(err)
		}
		logs.Write(b)
	}
	t.Logf("secrets looked for in %d bytes of answers and %d bytes of logs", len(answers), logs.Len())
	if len(answers) < 1000 || logs.Len() < 100 {
		t.Fatalf("too little was seen to check: %d bytes of answers, %d of logs", len(answers), logs.Len())
	}
	for what, text := range map[string]string{"answers": answers, "logs": logs.String()} {
		for name, s := range map[string]string{"database password": password, "JWT secret": secret} {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("the %s shows in the %s: …%s…", name, what, text[max(0, i-200):min(len(text), i+len(s)+50)])
			}
		}
	}
}

func randomHex(t *testing.T, prefix string) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}
