package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/redact"
)

type settings struct {
	addr   string
	drain  time.Duration
	n      int
	on     bool
	mode   string
	secret string
	dsn    string
}

func table(s *settings) *Table {
	return &Table{Command: "condcache test", Synopsis: "[flags]", About: "A test command.", Settings: []Setting{
		{Flag: "addr", Env: []string{"T_ADDR"}, Default: "127.0.0.1:1", Help: "listen address", Value: String(&s.addr)},
		{Flag: "drain", Env: []string{"T_DRAIN", "T_DRAIN_OLD"}, Default: "10s", Help: "drain", Value: Duration(&s.drain)},
		{Flag: "n", Env: []string{"T_N"}, Default: "3", Help: "count", Value: Int(&s.n)},
		{Flag: "on", Env: []string{"T_ON"}, Default: "true", Help: "switch", Value: Bool(&s.on)},
		{Flag: "mode", Env: []string{"T_MODE"}, Default: "a", Help: "mode", Value: OneOf(&s.mode, "a", "b")},
		{Env: []string{"T_SECRET"}, Default: "public-default", DefaultText: "public: set it", Help: "a secret", Secret: true, Value: String(&s.secret)},
		{Flag: "dsn", Env: []string{"T_DSN"}, Default: "postgres://u:defaultpw@h/x", Help: "database", Secret: true, Show: redact.DSN, Value: String(&s.dsn),
			From: func(e Env) (string, string, bool, error) {
				if v, ok := e("T_DSN"); ok && v != "" {
					return v, "env T_DSN", true, nil
				}
				if h, ok := e("T_HOST"); ok {
					if h == "" {
						return "", "", false, errors.New(`T_HOST="": not a host`)
					}
					return "postgres://u:pw@" + h + "/x", "env T_HOST", true, nil
				}
				return "", "", false, nil
			}},
	}}
}

func envOf(m map[string]string) Env {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

func TestPrecedence(t *testing.T) {
	var s settings
	c, err := table(&s).Parse([]string{"-n", "7", "--on=false", "rest", "-x"},
		envOf(map[string]string{"T_N": "5", "T_DRAIN_OLD": "3s", "T_MODE": "b", "T_HOST": "db"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.addr != "127.0.0.1:1" || s.drain != 3*time.Second || s.n != 7 || s.on || s.mode != "b" || s.secret != "public-default" || s.dsn != "postgres://u:pw@db/x" {
		t.Errorf("settings %+v", s)
	}
	for name, want := range map[string]string{"addr": "default", "drain": "env T_DRAIN_OLD", "n": "flag -n", "on": "flag -on", "T_SECRET": "default", "dsn": "env T_HOST"} {
		if got := c.Source(name); got != want {
			t.Errorf("Source(%s) = %q, want %q", name, got, want)
		}
	}
	if strings.Join(c.Args, " ") != "rest -x" {
		t.Errorf("Args %q", c.Args)
	}
}

func TestInvalidValuesAreNamed(t *testing.T) {
	var s settings
	_, err := table(&s).Parse([]string{"-mode", "c"},
		envOf(map[string]string{"T_DRAIN": "10", "T_N": "x", "T_ON": "yes please", "T_HOST": ""}), nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *Error", err)
	}
	msg := err.Error()
	for _, want := range []string{`T_DRAIN="10": not a duration`, `T_N="x": not an integer`, `T_ON="yes please": not a boolean`, `-mode="c": must be one of a, b`, `T_HOST="": not a host`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// A flag overrides a bad variable.
	if _, err := table(&s).Parse([]string{"-drain", "1s"}, envOf(map[string]string{"T_DRAIN": "10"}), nil); err != nil || s.drain != time.Second {
		t.Errorf("a flag must override a bad variable: %v, %v", err, s.drain)
	}
	if _, err := table(&s).Parse([]string{"-nope"}, envOf(nil), nil); err == nil || !strings.Contains(err.Error(), "-nope") {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestSecretsMasked(t *testing.T) {
	var s settings
	_, err := table(&s).Parse([]string{"-dsn", "postgres://u:flagpw@h:x/db"}, envOf(nil), nil)
	if err != nil {
		t.Fatal(err) // String never fails
	}
	c, err := table(&s).Parse([]string{"-print-config"}, envOf(map[string]string{"T_SECRET": "envsecret", "T_DSN": "host=h password=envpw"}), nil)
	if err != nil || !c.PrintConfig {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	if _, err := table(&s).Parse([]string{"-h"}, envOf(map[string]string{"T_SECRET": "envsecret"}), &help); !errors.Is(err, ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for what, text := range map[string]string{"-print-config": out.String(), "-h": help.String()} {
		for _, secret := range []string{"envsecret", "envpw", "defaultpw", "public-default"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %s:\n%s", what, secret, text)
			}
		}
	}
	for _, want := range []string{"T_SECRET  ***", "env T_SECRET", "host=h password=***", "env T_DSN", "-addr", "127.0.0.1:1", "default"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-print-config lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"usage: condcache test [flags]", "-drain duration", "env T_DRAIN, T_DRAIN_OLD", "default 10s",
		"postgres://u:***@h/x", "environment only:", "T_SECRET", "public: set it", "-print-config"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, help.String())
		}
	}
	// An invalid secret is named, its value masked.
	var bad struct{ d time.Duration }
	tb := &Table{Command: "x", Settings: []Setting{{Env: []string{"T_S"}, Default: "1s", Secret: true, Value: Duration(&bad.d)}}}
	if _, err := tb.Parse(nil, envOf(map[string]string{"T_S": "hunter2"}), nil); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), `T_S="***"`) {
		t.Errorf("bad secret: %v", err)
	}
}
