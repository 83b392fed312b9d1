package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// NginxTTL is the setup sites deploy in front of the reference instead of
// a fresh cache (Belle II's charts cache lookups for 300 s): nginx's
// proxy_cache with a fixed TTL, ignoring what the upstream says about
// caching. Measured beside condcache it is the speed to match; its
// staleness after a write is the price it pays.
type NginxTTL struct {
	URL  string
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// nginxTTLConf: two workers (the machine's cores), keep-alive to the
// upstream, every 200 kept for the TTL whatever its headers say, one
// request per key filling the cache (proxy_cache_lock), no access log.
const nginxTTLConf = `daemon off;
{{user}}
worker_processes 2;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path {{dir}}/body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;
	proxy_cache_path {{dir}}/cache keys_zone=ttl:64m max_size=2g inactive=1h;
	upstream target { server {{upstream}}; keepalive 64; }
	server {
		listen {{listen}} reuseport backlog=4096;
		keepalive_requests 100000;
		location / {
			proxy_pass http://target;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache ttl;
			proxy_cache_key $request_uri;
			proxy_cache_valid 200 {{ttl}}s;
			proxy_ignore_headers Cache-Control Expires X-Accel-Expires Set-Cookie;
			proxy_cache_lock on;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
}
`

// StartNginxTTL starts nginx on a free loopback port caching target (an
// http:// base URL) for ttl. It needs the nginx binary (Debian's
// nginx-light).
func StartNginxTTL(target string, ttl time.Duration) (*NginxTTL, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("loadtest: nginx-ttl needs an http:// target, not %q", target)
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, errors.New("loadtest: nginx-ttl needs nginx (apt-get install nginx-light)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	listen := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "condcache-nginx-ttl-")
	if err != nil {
		return nil, err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the cache lives in a root-owned temporary directory
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{listen}}", listen, "{{upstream}}", u.Host,
		"{{ttl}}", fmt.Sprint(int(ttl.Seconds())), "{{user}}", user).Replace(nginxTTLConf)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	n := &NginxTTL{URL: "http://" + listen, dir: dir, done: make(chan error, 1)}
	n.cmd = exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	if err := n.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { n.done <- n.cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", listen, 100*time.Millisecond); err == nil {
			c.Close()
			return n, nil
		}
		select {
		case err := <-n.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("loadtest: nginx exited: %v: %s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			n.Close()
			return nil, errors.New("loadtest: nginx does not listen after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops nginx and removes its directory.
func (n *NginxTTL) Close() error {
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	return os.RemoveAll(n.dir)
}
