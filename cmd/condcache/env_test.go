package main

import (
	"strings"
	"testing"

	"github.com/condcache/condcache/internal/redact"
)

// envOf is a config.Env over a map.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

func TestNopayloaddbVariables(t *testing.T) {
	s, _, err := loadWriter(nil, envOf(map[string]string{
		"CONDCACHE_PRIMARY_DSN": "",
		"POSTGRES_DB_W":         "cdb",
		"POSTGRES_USER_W":       "writer",
		"POSTGRES_PASSWORD_W":   "p@ss:word/",
		"POSTGRES_HOST_W":       "db.example",
		"POSTGRES_PORT_W":       "5433",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := "postgres://writer:p%40ss%3Aword%2F@db.example:5433/cdb?sslmode=prefer"
	if s.primary != want {
		t.Errorf("primary = %s, want %s", s.primary, want)
	}
	if red := redact.DSN(s.primary); strings.Contains(red, "word") {
		t.Errorf("redact.DSN leaks the password: %s", red)
	}
}

func TestReplicaVariables(t *testing.T) {
	// Only replicas with at least one variable set are configured: an unset
	// _R2 must not become localhost:5432 as in the reference.
	e := map[string]string{"POSTGRES_HOST_R1": "replica1"}
	s, _, err := loadReader(nil, envOf(e))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.replicas) != 1 || !strings.Contains(s.replicas[0], "@replica1:5432/dbname") {
		t.Errorf("replicas = %v, want only replica1 with the reference defaults", s.replicas)
	}
	e["CONDCACHE_REPLICA_DSNS"] = "postgres://a/x, postgres://b/y"
	if s, _, err = loadReader(nil, envOf(e)); err != nil || len(s.replicas) != 2 || s.replicas[1] != "postgres://b/y" {
		t.Errorf("CONDCACHE_REPLICA_DSNS must win: %v %v", s.replicas, err)
	}
	e["CONDCACHE_REPLICA_DSNS"] = ""
	if s, _, err = loadReader(nil, envOf(e)); err != nil || len(s.replicas) != 0 {
		t.Errorf("CONDCACHE_REPLICA_DSNS set but empty means none: %v %v", s.replicas, err)
	}
}

func TestTestProjectConfig(t *testing.T) {
	e := envOf(map[string]string{"CONDCACHE_PRIMARY_DSN": "", "DJANGO_DB_CONFIG": "test_project",
		"POSTGRES_DB": "unsuffixed", "POSTGRES_DB_W": "ignored", "POSTGRES_HOST_R1": "ignored"})
	s, _, err := loadReader(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.primary, "/unsuffixed?") {
		t.Errorf("with DJANGO_DB_CONFIG=test_project the unsuffixed variables apply: %s", s.primary)
	}
	if len(s.replicas) != 0 {
		t.Errorf("test_project config has no separate replicas, got %q", s.replicas)
	}
}

func TestRedactDSNKeyValue(t *testing.T) {
	for _, dsn := range []string{
		"host=db user=u password=hunter2 dbname=x",
		"postgres://u:hunter2@db:5432/x",
	} {
		if red := redact.DSN(dsn); strings.Contains(red, "hunter2") || !strings.Contains(red, "db") {
			t.Errorf("redact.DSN(%q) = %q", dsn, red)
		}
	}
}
