package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/localstack"
)

// commandTables are the configuration tables of every command that reads
// the environment (loadtest's subcommands read flags only), each with the
// load that checks a configuration as the command's start-up does (nil:
// parsing the table is all).
func commandTables() map[string]struct {
	table func() *config.Table
	load  func(args []string, e config.Env) error
} {
	type entry = struct {
		table func() *config.Table
		load  func(args []string, e config.Env) error
	}
	return map[string]entry{
		"writer": {func() *config.Table { return writerTable(&writerSettings{}) },
			func(args []string, e config.Env) error { _, _, err := loadWriter(args, e); return err }},
		"reader": {func() *config.Table { return readerTable(&readerSettings{}) },
			func(args []string, e config.Env) error { _, _, err := loadReader(args, e); return err }},
		"migrate": {func() *config.Table { var p string; var d, r bool; return migrateTable(&p, &d, &r) }, nil},
		"check":   {func() *config.Table { return checkTable(&checkSettings{}) }, nil},
		"export":  {func() *config.Table { return exportTable(&exportSettings{}) }, nil},
		"verify":  {func() *config.Table { return verifyTable(&verifySettings{}) }, nil},
		"usage":   {func() *config.Table { return usageTable(&usageSettings{}) }, nil},
		// The connection table every client command (gt, iov, …) shares.
		"client":      {func() *config.Table { return cli.ConnTable("condcache gt", &cli.Conn{}) }, nil},
		"healthcheck": {func() *config.Table { return healthcheckTable(&healthSettings{}) }, nil},
		"run": {func() *config.Table {
			var o localstack.RunOptions
			var demo bool
			var pprof string
			return runTable(&o, &demo, &pprof)
		}, nil},
	}
}

func loadFor(name string) func([]string, config.Env) error {
	c := commandTables()[name]
	if c.load != nil {
		return c.load
	}
	return func(args []string, e config.Env) error {
		_, err := c.table().Parse(args, e, &bytes.Buffer{})
		return err
	}
}

// keyFiles writes an EC P-256 public key as PEM and as a JWKS.
func keyFiles(t *testing.T) (pemFile, jwksFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemFile, jwksFile = filepath.Join(dir, "key.pem"), filepath.Join(dir, "keys.json")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	pub, _ := k.PublicKey.ECDH()
	raw := pub.Bytes() // 0x04 || X || Y
	jwks := `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"` + b64(raw[1:33]) + `","y":"` + b64(raw[33:]) + `"}]}`
	if err := os.WriteFile(jwksFile, []byte(jwks), 0o600); err != nil {
		t.Fatal(err)
	}
	return pemFile, jwksFile
}

// variableCase is a good and a bad value of a variable, with the other
// variables it needs. bad "" means free text: no value is invalid.
type variableCase struct {
	good, bad string
	with      map[string]string
}

func variableCases(t *testing.T) map[string]variableCase {
	pemFile, jwksFile := keyFiles(t)
	jwt := map[string]string{"CDB_AUTH_CLASS": "jwt"}
	configFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(configFile, []byte("url: http://reader.example:8000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]variableCase{
		"CONDCACHE_PRIMARY_DSN":          {good: "host=db user=u password=pw dbname=x", bad: "postgres://u:pw@db:notaport/x"},
		"CONDCACHE_REPLICA_DSNS":         {good: "postgres://u@r1/x,postgres://u@r2/x", bad: "postgres://u@r1/x,postgres://u@r2:bad/x"},
		"DJANGO_DB_CONFIG":               {good: "test_project"},
		"CONDCACHE_WRITER_ADDR":          {good: "0.0.0.0:8001", bad: "8001"},
		"CONDCACHE_READER_ADDR":          {good: ":8000", bad: "localhost"},
		"CONDCACHE_WRITER_URL":           {good: "https://writer.example:8443/base", bad: "writer:8001"},
		"CONDCACHE_READER_URL":           {good: "http://reader.example:8000", bad: "reader:8000"},
		"CONDCACHE_TOKEN":                {good: "eyJhbGciOiJIUzI1NiJ9.e30.x"},
		"CONDCACHE_MAX_LAG":              {good: "2s", bad: "2"},
		"CONDCACHE_ATTEMPT_TIMEOUT":      {good: "500ms", bad: "fast"},
		"CONDCACHE_USAGE_FLUSH":          {good: "2s", bad: "often"},
		"CONDCACHE_GT_INDEX_MB":          {good: "64", bad: "256MB"},
		"CONDCACHE_REDIS_URL":            {good: "rediss://user:pw@cache:6380/1", bad: "http://cache:6379/0"},
		"CONDCACHE_REDIS_TIMEOUT":        {good: "20ms", bad: "20"},
		"CONDCACHE_CACHE_TTL":            {good: "30m", bad: "1 hour"},
		"CONDCACHE_CACHE_LOCAL_MB":       {good: "0", bad: "256MB"},
		"CONDCACHE_CACHE_LEASE":          {good: "0s", bad: "1 second"},
		"CDB_IOV_MODE":                   {good: "discrete", bad: "sometimes"},
		"CDB_AUTH_CLASS":                 {good: "cdb_rest.authentication.CustomJWTAuthentication", bad: "ldap"},
		"JWT_SECRET":                     {good: "a-real-secret"},
		"CDB_PERMISSION_PLUGIN_CLASS":    {good: "belle2", bad: "acl"},
		"CONDCACHE_JWT_PUBLIC_KEY_FILE":  {good: pemFile, bad: filepath.Join(t.TempDir(), "missing.pem"), with: jwt},
		"CONDCACHE_JWKS_FILE":            {good: jwksFile, bad: filepath.Join(t.TempDir(), "missing.json"), with: jwt},
		"CONDCACHE_JWT_ALLOW_HS256":      {good: "true", bad: "maybe"},
		"CONDCACHE_MIGRATE":              {good: "false", bad: "no thanks"},
		"CONDCACHE_WRITER_MAX_CONNS":     {good: "4", bad: "four"},
		"CONDCACHE_READER_MAX_CONNS":     {good: "32", bad: "0"},
		"CONDCACHE_WRITER_MAX_IN_FLIGHT": {good: "-1", bad: "lots"},
		"CONDCACHE_READER_MAX_IN_FLIGHT": {good: "100", bad: "1.5"},
		"CONDCACHE_ADMISSION_WAIT":       {good: "0s", bad: "250"},
		"CONDCACHE_POOL_WAIT":            {good: "0", bad: "1 s"},
		"CONDCACHE_RETRY_AFTER_MIN":      {good: "2s", bad: "2"},
		"CONDCACHE_RETRY_AFTER_MAX":      {good: "10s", bad: "ten"},
		"CONDCACHE_CLIENT_RATE":          {good: "12.5", bad: "fast"},
		"CONDCACHE_CLIENT_BURST":         {good: "20", bad: "2.5"},
		"CONDCACHE_TRUST_FORWARDED":      {good: "true", bad: "yes"},
		"CONDCACHE_SHUTDOWN_DELAY":       {good: "0s", bad: "2"},
		"CONDCACHE_DRAIN":                {good: "30s", bad: "10"},
		"CONDCACHE_HEADER_TIMEOUT":       {good: "2s", bad: "0s"},
		"CONDCACHE_BODY_TIMEOUT":         {good: "5m", bad: "-1s"},
		"CONDCACHE_MAX_BODY":             {good: "1MiB", bad: "a lot"},
		"CONDCACHE_STATE_DIR":            {good: "/tmp/condcache-state"},
		"CONDCACHE_PG_PORT":              {good: "25432", bad: "70000"},
		"CONDCACHE_REDIS_PORT":           {good: "26379", bad: "redis"},
		"PG_BIN_DIR":                     {good: t.TempDir(), bad: filepath.Join(t.TempDir(), "missing")},
		"CONDCACHE_SQLITE":               {good: "site.sqlite"},
		"CONDCACHE_EXPORT_DIR":           {good: "/var/tmp"},
		"CONDCACHE_URL":                  {good: "http://reader.example:8000", bad: "reader:8000"},
		"CONDCACHE_CONFIG":               {good: configFile, bad: filepath.Join(t.TempDir(), "missing.yaml")},
		"CONDCACHE_HEALTHCHECK_URL":      {good: "http://127.0.0.1:8001/healthz", bad: "127.0.0.1:8001"},
		"CONDCACHE_HEALTHCHECK_TIMEOUT":  {good: "500ms", bad: "0s"},
	}
	for _, suffix := range []string{"_W", "_R1", "_R2", ""} {
		with := map[string]string{}
		if suffix == "" {
			with["DJANGO_DB_CONFIG"] = "test_project"
		}
		cases["POSTGRES_DB"+suffix] = variableCase{good: "conditions db", with: with}
		cases["POSTGRES_USER"+suffix] = variableCase{good: "us@r:1", with: with}
		cases["POSTGRES_PASSWORD"+suffix] = variableCase{good: "p@ss word/%", with: with}
		cases["POSTGRES_HOST"+suffix] = variableCase{good: "db.example", bad: "db example", with: with}
		cases["POSTGRES_PORT"+suffix] = variableCase{good: "5433", bad: "5432x", with: with}
	}
	return cases
}

// TestEveryVariable: every environment variable of every command's table
// takes a good value, and a bad one stops the command with an error that
// names the variable and the value. Every variable the documentation names
// is in a table, and every table's variable is documented.
func TestEveryVariable(t *testing.T) {
	cases := variableCases(t)
	users := map[string][]string{} // variable → commands whose table reads it
	for name, c := range commandTables() {
		for _, s := range c.table().Settings {
			for _, v := range s.Env {
				if !slices.Contains(users[v], name) {
					users[v] = append(users[v], name)
				}
			}
		}
	}
	var vars []string
	for v := range users {
		vars = append(vars, v)
		if _, ok := cases[v]; !ok {
			t.Errorf("%s (read by %v) has no test case", v, users[v])
		}
	}
	sort.Strings(vars)
	for _, v := range vars {
		c := cases[v]
		for _, cmd := range users[v] {
			load := loadFor(cmd)
			env := map[string]string{}
			for k, val := range c.with {
				env[k] = val
			}
			env[v] = c.good
			if err := load(nil, envOf(env)); err != nil {
				t.Errorf("%s %s=%q: %v", cmd, v, c.good, err)
			}
			if c.bad == "" {
				continue
			}
			env[v] = c.bad
			err := load(nil, envOf(env))
			var ce *config.Error
			switch {
			case err == nil:
				t.Errorf("%s %s=%q: accepted", cmd, v, c.bad)
			case !errors.As(err, &ce):
				t.Errorf("%s %s=%q: %T %v, want a *config.Error", cmd, v, c.bad, err, err)
			case !strings.Contains(err.Error(), v) || !strings.Contains(err.Error(), strings.TrimPrefix(c.bad, "postgres://u:pw@")):
				t.Errorf("%s %s=%q: the error does not name the variable and the value: %v", cmd, v, c.bad, err)
			}
		}
	}

	// The documentation and the tables agree.
	documented := map[string]bool{}
	name := regexp.MustCompile(`\b(?:CONDCACHE|POSTGRES|CDB|JWT|DJANGO|PG)_[A-Z0-9_{},]*[A-Z0-9}]`)
	for _, file := range []string{"../../README.md", "../../docs/operations.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllString(string(b), -1) {
			for _, v := range expandBraces(m) {
				documented[v] = true
			}
		}
	}
	ignored := map[string]bool{"DJANGO_LOGGING": true, "DJANGO_LOGPATH": true, "PERMISSION_PLUGIN_CLASS": true}
	for v := range documented {
		if _, ok := users[v]; !ok && !ignored[v] {
			t.Errorf("%s is documented but read by no command's table", v)
		}
	}
	for _, v := range vars {
		if !documented[v] {
			t.Errorf("%s is read by %v but not documented in README.md or docs/operations.md", v, users[v])
		}
	}
}

// expandBraces expands "A_{B,C}_D" into A_B_D and A_C_D.
func expandBraces(s string) []string {
	i := strings.IndexByte(s, '{')
	j := strings.IndexByte(s, '}')
	if i < 0 || j < i {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[i+1:j], ",") {
		out = append(out, expandBraces(s[:i]+alt+s[j+1:])...)
	}
	return out
}

// TestFlagsOverrideEnv: for every flag with a variable, the flag wins over
// the variable, a bad variable included, and -print-config says so.
func TestFlagsOverrideEnv(t *testing.T) {
	cases := variableCases(t)
	for name, c := range commandTables() {
		for _, s := range c.table().Settings {
			if s.Flag == "" || len(s.Env) == 0 {
				continue
			}
			v := s.Env[0]
			vc := cases[v]
			if vc.bad == "" {
				continue
			}
			env := map[string]string{v: vc.bad}
			for k, val := range vc.with {
				env[k] = val
			}
			if err := loadFor(name)([]string{"-" + s.Flag + "=" + vc.good}, envOf(env)); err != nil {
				t.Errorf("%s -%s=%q with %s=%q: %v", name, s.Flag, vc.good, v, vc.bad, err)
			}
			cfg, err := c.table().Parse([]string{"-" + s.Flag, vc.good}, envOf(map[string]string{v: vc.good}), &bytes.Buffer{})
			if err != nil {
				t.Errorf("%s -%s %q: %v", name, s.Flag, vc.good, err)
			} else if src := cfg.Source(s.Flag); src != "flag -"+s.Flag {
				t.Errorf("%s -%s: source %q", name, s.Flag, src)
			}
		}
	}
}
