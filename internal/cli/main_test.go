package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

// The CLI's tests run the built binary as a person or a script would,
// against a real stack: PostgreSQL, Redis, a writer and a reader started
// from the same binary (docs/operations.md "Client commands").
var (
	stack   *localstack.Stack
	servers *localstack.Servers
	binary  string
	workDir string
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from this run")

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "cli", Build: true, Stack: &localstack.Options{Redis: true}},
		func(ctx context.Context, env *testkit.Env) error {
			stack, binary, workDir = env.Stack, env.Binary, env.Dir
			if err := stack.CreateDatabase(ctx, "cli"); err != nil {
				return err
			}
			var err error
			if servers, err = stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: "cli"}); err != nil {
				return fmt.Errorf("starting condcache: %w", err)
			}
			env.Cleanup(func() { _ = servers.Stop() })
			return nil
		})
}

// result is what one run of the binary did.
type result struct {
	out, err string
	code     int
}

// cmdOpts say how to run the binary: extra environment, standard input.
type cmdOpts struct {
	env   []string
	stdin string
	url   string // "" = the shared reader, "-" none (no CONDCACHE_URL)
}

// run runs condcache args against the shared reader (CONDCACHE_URL), with
// an empty config directory of its own and no terminal.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, cmdOpts{}, args...)
}

func runWith(t *testing.T, o cmdOpts, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	u := o.url
	if u == "" {
		u = servers.ReaderURL
	}
	cmd.Env = cleanEnv(t)
	if u != "-" {
		cmd.Env = append(cmd.Env, "CONDCACHE_URL="+u)
	}
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Stdin = strings.NewReader(o.stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("condcache %q: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// cleanEnv is the environment without condcache's own variables, with a
// config directory of the test's own.
func cleanEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONDCACHE_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "XDG_CONFIG_HOME="+t.TempDir())
}

// ok runs a command that must succeed and returns its stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("condcache %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// okJSON runs a command with -o json and decodes its output.
func okJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := ok(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("condcache %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// want checks a run's exit code and that stderr says something.
func want(t *testing.T, r result, code int, says string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.err, says) {
		t.Errorf("exit %d, want %d saying %q\nstdout: %s\nstderr: %s", r.code, code, says, r.out, r.err)
	}
}

// uniq is a name unique to this run.
func uniq(prefix string) string { return testkit.Uniq(prefix) }

// Golden files: the JSON output of a command, normalised (normalise), is
// compared with testdata/golden/NAME.json; go test -update rewrites them.
func golden(t *testing.T, name, out string, names ...string) {
	t.Helper()
	got := normalise(t, out, names)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(b) != got {
		t.Errorf("%s: the JSON output changed (go test -update if meant):\n--- got\n%s\n--- want\n%s", path, got, b)
	}
}

var (
	timeRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$`)
	digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	listRE   = regexp.MustCompile(`_(\d+)\b`)
	// Keys whose values are ids, generations or times of this run.
	volatile = map[string]bool{"id": true, "iov": true, "piov_id": true, "generation": true, "a_generation": true, "b_generation": true,
		"ids": true, "iovs": true, "seconds": true, "rows_per_second": true,
		"payload_list_id": true, "global_tag_id": true, "payload_type_id": true, "status_id": true}
)

// normalise makes a command's JSON comparable across runs: the test's
// unique names become NAME0, NAME1, …, ids, generations and durations 0,
// times "TIME", digests "sha256:DIGEST", list names TYPE_N; keys sorted
// and indented.
func normalise(t *testing.T, out string, names []string) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	order := append([]string{}, names...)
	sort.Slice(order, func(i, j int) bool { return len(order[i]) > len(order[j]) })
	var walk func(v any, key string) any
	walk = func(v any, key string) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e, k)
			}
			return x
		case []any:
			for i, e := range x {
				x[i] = walk(e, key)
			}
			return x
		case json.Number:
			if volatile[key] {
				return 0
			}
			return x
		case string:
			if timeRE.MatchString(x) {
				return "TIME"
			}
			x = digestRE.ReplaceAllString(x, "sha256:DIGEST")
			for _, n := range order {
				for i, m := range names {
					if m == n {
						x = strings.ReplaceAll(x, n, fmt.Sprintf("NAME%d", i))
					}
				}
			}
			if strings.Contains(x, "NAME") {
				x = listRE.ReplaceAllString(x, "_N")
			}
			return x
		}
		return v
	}
	v = walk(v, "")
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}
