package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

// An nginx proxy_cache in front of a reader, as sites run Squid, Varnish or
// nginx in front of conditions services (docs/design.md "HTTP caching"): it must
// serve a frozen GT's lookups itself, and never keep an unlocked GT's
// answer past a write.

// nginxConf runs nginx in the foreground as a single process (no user
// switch, so its temp and cache directories can live in the test's dir).
const nginxConf = `daemon off;
master_process off;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 64; }
http {
	access_log {{dir}}/access.log;
	client_body_temp_path {{dir}}/body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;
	proxy_cache_path {{dir}}/cache keys_zone=condcache:1m;
	server {
		listen {{listen}};
		location / {
			proxy_pass {{upstream}};
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache condcache;
			proxy_cache_revalidate on;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
}
`

// startNginx starts nginx proxying to upstream and returns its base URL.
// In CI a missing nginx fails the test (.ci/install-deps --test installs it).
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nginx is not installed (apt-get install nginx-light): %v", err)
		}
		t.Skipf("nginx is not installed (apt-get install nginx-light, or make test installs it)")
	}
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	conf := strings.NewReplacer("{{dir}}", dir, "{{listen}}", listen, "{{upstream}}", upstream).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	testkit.Poller(50*time.Millisecond).Eventually(t, 10*time.Second, "nginx listens", func() bool {
		c, err := net.DialTimeout("tcp", listen, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s%s", err, out.String(), log)
		default:
		}
		return false
	})
	return "http://" + listen
}

// lookupsServed is how many lookups the reader has answered, from any source.
func lookupsServed(t *testing.T, readerURL string) float64 {
	t.Helper()
	var n float64
	for _, src := range []string{"redis", "replica", "primary"} {
		n += metric(t, readerURL, `condcache_lookups_total{source="`+src+`"}`)
	}
	return n
}

func TestNginxProxyCache(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	p := newClient(t, startNginx(t, ls.servers.ReaderURL))

	t.Run("frozen GT served by nginx", func(t *testing.T) {
		gt, pt := w.mkGT("unlocked"), w.mkPT()
		u := uniqz("frozen")
		writeIOV(r, w, gt, pt, u, P{1, 0})
		w.setStatus(gt, "frozen")
		path := fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=3&minorIOV=0", gt)
		first := p.get(path)
		if first.Status != 200 || !bytes.Contains(first.Body, []byte(u)) {
			t.Fatalf("first lookup through nginx: %s", first)
		}
		served := lookupsServed(t, ls.servers.ReaderURL)
		for i := range 5 {
			got := p.get(path)
			if got.Status != 200 || !bytes.Equal(got.Body, first.Body) || got.Header.Get("X-Cache-Status") != "HIT" {
				t.Fatalf("repeat %d: %d, cache status %q, body %s", i, got.Status, got.Header.Get("X-Cache-Status"), got.Body)
			}
		}
		if got := p.do("GET", path, nil, "If-None-Match", first.Header.Get("ETag")); got.Status != 304 {
			t.Errorf("If-None-Match %s through nginx: %d, want 304", first.Header.Get("ETag"), got.Status)
		}
		if n := lookupsServed(t, ls.servers.ReaderURL) - served; n != 0 {
			t.Errorf("the reader answered %.0f of the repeated lookups; nginx should have", n)
		}
	})

	t.Run("unlocked GT fresh after writes", func(t *testing.T) {
		gt, pt := w.mkGT("unlocked"), w.mkPT()
		path := fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=100&minorIOV=0", gt)
		for i := range 20 {
			u := fmt.Sprintf("%s_%d", uniqz("unlocked"), i)
			writeIOV(r, w, gt, pt, u, P{int64(i), 0})
			for k := range 3 {
				if got := p.get(path); got.Status != 200 || !bytes.Contains(got.Body, []byte(`"`+u+`"`)) {
					t.Fatalf("round %d, lookup %d through nginx after the write: %d %s (cache status %q), want %s",
						i, k, got.Status, got.Body, got.Header.Get("X-Cache-Status"), u)
				}
			}
		}
	})
}
