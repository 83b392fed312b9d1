package main

import (
	"strings"
	"testing"
)

func TestNopayloaddbVariables(t *testing.T) {
	t.Setenv("CONDCACHE_PRIMARY_DSN", "")
	t.Setenv("POSTGRES_DB_W", "cdb")
	t.Setenv("POSTGRES_USER_W", "writer")
	t.Setenv("POSTGRES_PASSWORD_W", "p@ss:word/")
	t.Setenv("POSTGRES_HOST_W", "db.example")
	t.Setenv("POSTGRES_PORT_W", "5433")
	got := primaryDSN()
	want := "postgres://writer:p%40ss%3Aword%2F@db.example:5433/cdb?sslmode=prefer"
	if got != want {
		t.Errorf("primaryDSN() = %s, want %s", got, want)
	}
	if red := redactDSN(got); strings.Contains(red, "word") {
		t.Errorf("redactDSN leaks the password: %s", red)
	}
}

func TestReplicaVariables(t *testing.T) {
	// Only replicas with at least one variable set are configured: an unset
	// _R2 must not become localhost:5432 as in the reference.
	t.Setenv("POSTGRES_HOST_R1", "replica1")
	got := splitList(replicaDSNs())
	if len(got) != 1 || !strings.Contains(got[0], "@replica1:5432/dbname") {
		t.Errorf("replicaDSNs() = %v, want only replica1 with the reference defaults", got)
	}
	t.Setenv("CONDCACHE_REPLICA_DSNS", "postgres://a/x, postgres://b/y")
	if got := splitList(replicaDSNs()); len(got) != 2 || got[1] != "postgres://b/y" {
		t.Errorf("CONDCACHE_REPLICA_DSNS must win: %v", got)
	}
}

func TestTestProjectConfig(t *testing.T) {
	t.Setenv("CONDCACHE_PRIMARY_DSN", "")
	t.Setenv("DJANGO_DB_CONFIG", "test_project")
	t.Setenv("POSTGRES_DB", "unsuffixed")
	t.Setenv("POSTGRES_DB_W", "ignored")
	if got := primaryDSN(); !strings.Contains(got, "/unsuffixed?") {
		t.Errorf("with DJANGO_DB_CONFIG=test_project the unsuffixed variables apply: %s", got)
	}
	if got := replicaDSNs(); got != "" {
		t.Errorf("test_project config has no separate replicas, got %q", got)
	}
}

func TestRedactDSNKeyValue(t *testing.T) {
	for _, dsn := range []string{
		"host=db user=u password=hunter2 dbname=x",
		"postgres://u:hunter2@db:5432/x",
	} {
		if red := redactDSN(dsn); strings.Contains(red, "hunter2") || !strings.Contains(red, "db") {
			t.Errorf("redactDSN(%q) = %q", dsn, red)
		}
	}
}
