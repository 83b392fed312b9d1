package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/testkit"
)

// secret returns a random secret with characters that URLs and
// keyword/value strings escape or quote, and its random core, which must
// show nowhere in any encoding.
func secret(t *testing.T, prefix string) (value, core string) {
	t.Helper()
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	core = prefix + hex.EncodeToString(b[:])
	return core + "/@:% x", core
}

// dsnForms are a DSN to host:port (or a Unix socket directory:port) with
// password in both forms: a URL and a quoted keyword/value string.
func dsnForms(hostPort, password string) map[string]string {
	host, port, _ := net.SplitHostPort(hostPort)
	u := url.URL{Scheme: "postgres", User: url.UserPassword("u", password), Host: hostPort, Path: "/x", RawQuery: "sslmode=disable&connect_timeout=2"}
	if strings.HasPrefix(host, "/") {
		u.Host, u.RawQuery = "", url.Values{"host": {host}, "port": {port}, "sslmode": {"disable"}}.Encode()
	}
	kvPassword := strings.ReplaceAll(strings.ReplaceAll(password, `\`, `\\`), `'`, `\'`)
	return map[string]string{
		"url":       u.String(),
		"key=value": fmt.Sprintf("host=%s port=%s user=u password='%s' dbname=x sslmode=disable connect_timeout=2", host, port, kvPassword),
	}
}

// runInProcess runs the condcache command in this process and returns its
// exit status and output.
func runInProcess(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	oldOut, oldErr := stdout, stderr
	stdout, stderr = &out, &errOut
	defer func() { stdout, stderr = oldOut, oldErr; processLogger = nil }()
	code := runMain(args, envOf(env))
	return code, out.String(), errOut.String()
}

// TestPrintConfigMasksSecrets: -print-config of writer, reader, migrate and
// check shows every setting and where it came from, and no database
// password, Redis password or JWT secret, whether they come from the
// environment or flags, in URL or keyword/value form; -h shows none
// either; a bad secret value is named with its value masked.
func TestPrintConfigMasksSecrets(t *testing.T) {
	pw1, core1 := secret(t, "pgw-")
	pw2, core2 := secret(t, "jwt-")
	pw3, core3 := secret(t, "rds-")
	pw4, core4 := secret(t, "rep-")
	pw5, core5 := secret(t, "flg-")
	cores := []string{core1, core2, core3, core4, core5}
	env := map[string]string{
		"POSTGRES_PASSWORD_W":    pw1,
		"JWT_SECRET":             pw2,
		"CONDCACHE_REDIS_URL":    "redis://:" + url.QueryEscape(pw3) + "@cache:6379/0",
		"CONDCACHE_REPLICA_DSNS": dsnForms("r1:5432", pw4)["key=value"] + "," + dsnForms("r2:5432", pw4)["url"],
	}
	for _, form := range []string{"url", "key=value"} {
		flagDSN := dsnForms("db:5432", pw5)[form]
		for _, args := range [][]string{
			{"writer", "-print-config"},
			{"writer", "-print-config", "-primary", flagDSN},
			{"reader", "-print-config"},
			{"reader", "-print-config", "-primary", flagDSN, "-replicas", flagDSN},
			{"migrate", "-print-config"},
			{"migrate", "-print-config", "-primary", flagDSN},
			{"check", "-print-config", "-primary", flagDSN},
			{"writer", "-h"}, {"reader", "-h"}, {"migrate", "-h"},
		} {
			code, out, errOut := runInProcess(t, env, args...)
			if code != 0 {
				t.Errorf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
			}
			for _, c := range cores {
				if strings.Contains(out+errOut, c) {
					t.Errorf("%s (%s) shows a secret:\n%s%s", strings.Join(args, " "), form, out, errOut)
				}
			}
			if args[1] == "-print-config" {
				want := "env POSTGRES_PASSWORD_W"
				if len(args) > 2 {
					want = "flag -primary"
				}
				if !strings.Contains(out, "***") || !strings.Contains(out, want) {
					t.Errorf("%s: want masked values and %q:\n%s", strings.Join(args, " "), want, out)
				}
				if args[0] == "writer" && !strings.Contains(out, "JWT_SECRET") {
					t.Errorf("writer -print-config lacks JWT_SECRET:\n%s", out)
				}
			}
		}
	}
	if testing.Verbose() {
		_, out, _ := runInProcess(t, env, "writer", "-print-config")
		t.Logf("writer -print-config:\n%s", out)
	}
	// A bad value of a secret setting is named, the secret masked.
	for _, args := range [][]string{
		{"writer", "-primary", "postgres://u:" + url.QueryEscape(pw5) + "@db:notaport/x"},
		{"migrate", "-primary", "host=db port=x password='" + pw5 + "'"},
		{"reader", "-redis", "redis://:" + url.QueryEscape(pw5) + "@cache:x/0"},
	} {
		code, out, errOut := runInProcess(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "-"+strings.TrimPrefix(args[1], "-")+"=") {
			t.Errorf("%s: exit %d, %q: want 2 and a message naming %s", args[0], code, errOut, args[1])
		}
		if strings.Contains(out+errOut, core5) {
			t.Errorf("%s %s: the error shows the password: %s", args[0], args[1], errOut)
		}
	}
}

// commandProcess runs the condcache command as a process (this test
// binary, see TestMain).
type commandProcess struct {
	cmd    *exec.Cmd
	logs   *testkit.Buffer
	exited chan error
}

func startCommand(t *testing.T, env []string, args ...string) *commandProcess {
	t.Helper()
	p := &commandProcess{logs: &testkit.Buffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(append(os.Environ(), "CONDCACHE_TEST_MAIN=1", "CONDCACHE_REDIS_URL=", "CONDCACHE_PRIMARY_DSN="), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// wait waits for the process to exit and returns its exit status.
func (p *commandProcess) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-p.exited:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(within):
		t.Fatalf("%v did not exit within %v; output:\n%s", p.cmd.Args[1:], within, p.logs.String())
	}
	return -1
}

// fakePostgres accepts connections, asks each for a cleartext password and
// refuses it as PostgreSQL does for a bad password (28P01).
func fakePostgres(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				for {
					var n int32
					if binary.Read(r, binary.BigEndian, &n) != nil || n < 8 {
						return
					}
					body := make([]byte, n-4)
					if _, err := io.ReadFull(r, body); err != nil {
						return
					}
					if binary.BigEndian.Uint32(body) == 80877103 { // SSLRequest
						_, _ = c.Write([]byte("N"))
						continue
					}
					break // the startup message
				}
				_, _ = c.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3}) // AuthenticationCleartextPassword
				var typ byte
				var n int32
				if binary.Read(r, binary.BigEndian, &typ) != nil || binary.Read(r, binary.BigEndian, &n) != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, r, int64(n-4)); err != nil {
					return
				}
				var msg bytes.Buffer
				for _, f := range []string{"SFATAL", "VFATAL", "C28P01", `Mpassword authentication failed for user "u"`} {
					msg.WriteString(f)
					msg.WriteByte(0)
				}
				msg.WriteByte(0)
				out := []byte{'E', 0, 0, 0, 0}
				binary.BigEndian.PutUint32(out[1:], uint32(4+msg.Len()))
				_, _ = c.Write(append(out, msg.Bytes()...))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestNoSecretLeaksAtStartUp: the database password, in URL and in
// keyword/value form, given by flag or by environment, shows in no log line
// or error of the writer, the reader and migrate: while the writer waits
// for an unreachable primary (bad port, unresolvable host), when the
// primary refuses the password (start-up stops at once), when migrate
// fails, and while the reader's backends are down.
func TestNoSecretLeaksAtStartUp(t *testing.T) {
	closed := freeAddr(t)
	refusing := fakePostgres(t)
	for _, form := range []string{"url", "key=value"} {
		t.Run(form, func(t *testing.T) {
			pw, core := secret(t, "pw-")
			var seen strings.Builder
			check := func(what string, p *commandProcess) {
				t.Helper()
				out := p.logs.String()
				seen.WriteString(out)
				if strings.Contains(out, core) {
					t.Errorf("%s: the password shows:\n%s", what, out)
				}
				if testing.Verbose() {
					t.Logf("%s:\n%s", what, out)
				}
			}

			// Bad password: the writer and migrate stop at once.
			for _, args := range [][]string{{"writer", "-addr", freeAddr(t)}, {"migrate"}} {
				for _, byEnv := range []bool{false, true} {
					dsn := dsnForms(refusing, pw)[form]
					var p *commandProcess
					if byEnv {
						p = startCommand(t, []string{"CONDCACHE_PRIMARY_DSN=" + dsn}, args...)
					} else {
						p = startCommand(t, nil, append(args, "-primary", dsn)...)
					}
					if code := p.wait(t, 30*time.Second); code != 1 {
						t.Errorf("%s with a refused password: exit %d, want 1:\n%s", args[0], code, p.logs.String())
					}
					if !strings.Contains(p.logs.String(), "password authentication failed") {
						t.Errorf("%s: the refusal is not logged:\n%s", args[0], p.logs.String())
					}
					check(args[0]+" refused password", p)
				}
			}

			// Unreachable primary: migrate fails, the writer waits.
			// The bad host is a Unix socket directory that does not exist: no
			// name lookup leaves the machine.
			for _, target := range []string{closed, net.JoinHostPort(filepath.Join(t.TempDir(), "no-such-dir"), "5432")} {
				dsn := dsnForms(target, pw)[form]
				p := startCommand(t, nil, "migrate", "-primary", dsn)
				if code := p.wait(t, 30*time.Second); code != 1 {
					t.Errorf("migrate to %s: exit %d, want 1", target, code)
				}
				check("migrate to "+target, p)

				p = startCommand(t, []string{"CONDCACHE_PRIMARY_DSN=" + dsn}, "writer", "-addr", freeAddr(t))
				waitUntil(t, "the writer to wait for the primary", 30*time.Second, func() bool {
					return strings.Count(p.logs.String(), "waiting for the primary at "+target) >= 2
				})
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if code := p.wait(t, 10*time.Second); code != 0 {
					t.Errorf("writer stopped while waiting: exit %d", code)
				}
				check("writer waiting for "+target, p)
			}

			// The reader starts without its backends and logs them down.
			dsn := dsnForms(closed, pw)[form]
			p := startCommand(t, []string{"CONDCACHE_REPLICA_DSNS=" + dsnForms(refusing, pw)[form]},
				"reader", "-addr", freeAddr(t), "-primary", dsn, "-redis", "redis://:"+url.QueryEscape(pw)+"@"+closed+"/0")
			waitUntil(t, "the reader to find its backends down", 30*time.Second, func() bool {
				out := p.logs.String()
				return strings.Contains(out, "database backend is down") && strings.Contains(out, "reader listening")
			})
			time.Sleep(1500 * time.Millisecond) // a few more health checks
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			p.wait(t, 30*time.Second)
			check("reader with its backends down", p)
			if !strings.Contains(seen.String(), "***") {
				t.Errorf("nothing was redacted: was anything logged?\n%s", seen.String())
			}
			t.Logf("%s: looked for the password in %d bytes of output", form, seen.Len())
		})
	}
}
