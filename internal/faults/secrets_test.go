package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

// TestNoSecretLeaks: with a database password and a JWT secret
// configured, neither shows in any answer of either process (health,
// readiness, metrics, settings, refused writes, lookups) nor in their
// logs, also while the primary is down and every error path logs; nor in
// the output of the commands run beside them with the same secrets, the
// database URL in both forms (URL, keyword/value): migrate (applied, and
// failing while the primary is down), a second writer waiting for the
// primary, and -print-config of writer, reader and migrate. The secrets
// are random, so any occurrence is a leak. Protection: the one redaction
// (internal/redact), through which every log line, error and printed
// configuration passes; with it removed the writer logs the password at
// start-up, and migrate and -print-config show it.
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
	p := tp.stack.Primary
	dsns := map[string]string{
		"url": strings.Replace(p.DSN(tp.db), "://"+p.User+"@", "://"+p.User+":"+password+"@", 1),
		"key=value": fmt.Sprintf("host=%s port=%d user=%s password='%s' dbname=%s sslmode=disable connect_timeout=5",
			p.Host, p.Port, p.User, password, tp.db),
	}
	secretEnv := []string{"JWT_SECRET=" + secret, "CDB_AUTH_CLASS=jwt", "CONDCACHE_REDIS_URL=redis://:" + password + "@" + tp.stack.Redis.Addr() + "/0"}
	var commands strings.Builder
	command := func(env []string, args ...string) {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(append(os.Environ(), secretEnv...), env...)
		out, err := cmd.CombinedOutput()
		// (The arguments hold the password: not in the heading.)
		fmt.Fprintf(&commands, "$ condcache %s … (%v)\n%s", args[0], err, out)
	}
	for _, dsn := range dsns {
		command(nil, "migrate", "-primary", dsn)
		command([]string{"CONDCACHE_PRIMARY_DSN=" + dsn}, "migrate")
		command([]string{"CONDCACHE_PRIMARY_DSN=" + dsn}, "writer", "-print-config")
		command(nil, "reader", "-print-config", "-primary", dsn, "-replicas", dsn)
		command(nil, "migrate", "-print-config", "-primary", dsn)
	}
	// With the primary down every error path runs and logs.
	if err := tp.stack.Primary.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	probe()
	for _, dsn := range dsns {
		command(nil, "migrate", "-primary", dsn)
		w := exec.Command(binary, "writer", "-addr", "127.0.0.1:0", "-primary", dsn)
		w.Env = append(os.Environ(), secretEnv...)
		var out testkit.Buffer
		w.Stdout, w.Stderr = &out, &out
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 30*time.Second, "a second writer waits for the primary", func() bool {
			return strings.Contains(out.String(), fmt.Sprintf("waiting for the primary at %s:%d", p.Host, p.Port))
		})
		_ = w.Process.Signal(syscall.SIGTERM)
		_ = w.Wait()
		fmt.Fprintf(&commands, "$ condcache writer -primary … (waiting)\n%s", out.String())
	}
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
	if testing.Verbose() {
		t.Logf("the commands' output:\n%s", commands.String())
	}
	for _, want := range []string{"applying migrations", "effective configuration", "waiting for the primary at", "condcache migrate failed"} {
		if !strings.Contains(commands.String(), want) {
			t.Errorf("the commands did not say %q:\n%s", want, commands.String())
		}
	}
	t.Logf("secrets looked for in %d bytes of answers, %d bytes of logs and %d bytes of command output", len(answers), logs.Len(), commands.Len())
	if len(answers) < 1000 || logs.Len() < 100 {
		t.Fatalf("too little was seen to check: %d bytes of answers, %d of logs", len(answers), logs.Len())
	}
	for what, text := range map[string]string{"answers": answers, "logs": logs.String(), "commands' output": commands.String()} {
		for name, s := range map[string]string{"database password": password, "JWT secret": secret} {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("the %s shows %d times in the %s, first: …%s…", name, strings.Count(text, s), what, text[max(0, i-200):min(len(text), i+len(s)+50)])
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
