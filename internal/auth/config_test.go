package auth

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		class, secret, plugin string
		want                  Config
		wantErr               string
	}{
		{"", "", "", Config{Plugin: PluginDummy, Secret: []byte{}}, ""},
		{"", "s", PluginDummyClass, Config{Plugin: PluginDummy, Secret: []byte("s")}, ""},
		{ClassJWT, "s", "", Config{Enabled: true, Plugin: PluginDummy, Secret: []byte("s")}, ""},
		{"jwt", "s", "belle2", Config{Enabled: true, Plugin: PluginBelle2, Secret: []byte("s")}, ""},
		{" jwt\n", "s", PluginBelle2Class + "\n", Config{Enabled: true, Plugin: PluginBelle2, Secret: []byte("s")}, ""},
		{"", "s", "dummy", Config{Plugin: PluginDummy, Secret: []byte("s")}, ""},
		{"JWT", "s", "", Config{}, "CDB_AUTH_CLASS"},
		{"rest_framework.authentication.TokenAuthentication", "s", "", Config{}, ClassJWT},
		{"jwt", "s", "cdb_rest.permissions_plugins.other.Plugin", Config{}, PluginBelle2Class},
		{"jwt", "", "", Config{}, "JWT_SECRET must not be empty"},
	}
	for _, c := range cases {
		got, err := ParseConfig(c.class, c.secret, c.plugin)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseConfig(%q, _, %q) error = %v, want one mentioning %q", c.class, c.plugin, err, c.wantErr)
			}
			continue
		}
		if err != nil || got.Enabled != c.want.Enabled || got.Plugin != c.want.Plugin || !bytes.Equal(got.Secret, c.want.Secret) {
			t.Errorf("ParseConfig(%q, %q, %q) = %v, %v; want %v", c.class, c.secret, c.plugin, got, err, c.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("CDB_AUTH_CLASS", ClassJWT)
	t.Setenv("CDB_PERMISSION_PLUGIN_CLASS", PluginBelle2Class)
	t.Setenv("JWT_SECRET", "from-env")
	cfg, err := ConfigFromEnv()
	if err != nil || !cfg.Enabled || cfg.Plugin != PluginBelle2 || string(cfg.Secret) != "from-env" {
		t.Fatalf("ConfigFromEnv = %v, %v", cfg, err)
	}
}

func TestConfigFromEnvDefaultSecret(t *testing.T) {
	t.Setenv("CDB_AUTH_CLASS", "")
	t.Setenv("CDB_PERMISSION_PLUGIN_CLASS", "")
	unsetenv(t, "JWT_SECRET")
	cfg, err := ConfigFromEnv()
	if err != nil || cfg.Enabled || cfg.Plugin != PluginDummy || string(cfg.Secret) != DefaultSecret {
		t.Fatalf("ConfigFromEnv = %v, %v", cfg, err)
	}
}

// unsetenv unsets key for the test; t.Setenv restores it afterwards.
func unsetenv(t *testing.T, key string) {
	t.Setenv(key, "")
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}

func TestConfigNeverPrintsSecret(t *testing.T) {
	cfg := Config{Enabled: true, Secret: []byte("hunter2-secret"), Plugin: PluginBelle2}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "auth", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("the secret is printed: %s", s)
		}
	}
}

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := New(Config{Plugin: "nope"}, logger); err == nil {
		t.Error("New accepted an unknown plugin")
	}
	if _, err := New(Config{Enabled: true}, logger); err == nil {
		t.Error("New accepted an empty secret with authentication on")
	}
	a, err := New(Config{Enabled: true, Secret: []byte(DefaultSecret), Plugin: PluginBelle2Class}, logger)
	if err != nil || !a.Enabled() || a.Plugin() != PluginBelle2 {
		t.Fatalf("New = %v, %v", a, err)
	}
	if !strings.Contains(buf.String(), "public default") {
		t.Errorf("no warning about the default secret: %s", buf.String())
	}
	if strings.Contains(buf.String(), DefaultSecret) {
		t.Errorf("the warning prints the secret: %s", buf.String())
	}
	a, err = New(Config{}, nil)
	if err != nil || a.Enabled() || a.Plugin() != PluginDummy {
		t.Fatalf("New(zero) = %v, %v", a, err)
	}
}
