package auth

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
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

// TestConfigFromEnvKeys covers the rules of the key variables: one key
// source, HS256 off beside keys unless kept, keys only with
// authentication, and start-up errors that name the variable and the file
// but never print the secret or key material.
func TestConfigFromEnvKeys(t *testing.T) {
	k := keys(t)
	const secret = "env-secret-7f3a9c"
	pemData := publicPEM(t, k.rsa1.Public())
	pemFile := writeFile(t, "key.pem", pemData)
	jwksFile := writeFile(t, "keys.json", jwks(t, jwkOf(t, k.rsa1.Public(), "a"), jwkOf(t, k.ec1.Public(), "b")))
	privFile := writeFile(t, "priv.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa1)}))
	badFile := writeFile(t, "bad.json", []byte(`{"keys":[{"kty":"oct","k":"`+secret+`"}]}`))
	unset := "\x00unset"
	cases := []struct {
		name                         string
		class, jwtSecret             string
		publicKey, jwksPath, allowHS string
		wantAlgs                     string // accepted algorithms, or
		wantErr                      string // an error holding this
	}{
		{"no keys: HS256 as the reference", "jwt", secret, "", "", "", "HS256", ""},
		{"no keys, HS256 kept: no change", "jwt", secret, "", "", "true", "HS256", ""},
		{"public key: HS256 off", "jwt", secret, pemFile, "", "", "RS256", ""},
		{"public key, default secret", "jwt", unset, pemFile, "", "", "RS256", ""},
		{"public key, empty secret", "jwt", "", pemFile, "", "", "RS256", ""},
		{"public key, HS256 kept", "jwt", secret, pemFile, "", "true", "HS256 RS256", ""},
		{"public key, HS256 off explicitly", "jwt", secret, pemFile, "", "0", "RS256", ""},
		{"JWKS", "jwt", secret, "", jwksFile, "", "RS256 ES256", ""},
		{"JWKS, HS256 kept", ClassJWT, secret, "", jwksFile, "TRUE", "HS256 RS256 ES256", ""},
		{"HS256 kept needs a secret", "jwt", "", pemFile, "", "true", "", "JWT_SECRET must not be empty"},
		{"both files", "jwt", secret, pemFile, jwksFile, "", "", "CONDCACHE_JWT_PUBLIC_KEY_FILE and CONDCACHE_JWKS_FILE are both set"},
		{"HS256 off without keys", "jwt", secret, "", "", "false", "", "CONDCACHE_JWT_ALLOW_HS256=false needs"},
		{"HS256 flag not a boolean", "jwt", secret, pemFile, "", "maybe", "", `CONDCACHE_JWT_ALLOW_HS256="maybe" is not a boolean`},
		{"keys without authentication", "", secret, pemFile, "", "", "", "CDB_AUTH_CLASS is empty"},
		{"missing file", "jwt", secret, pemFile + ".nope", "", "", "", "CONDCACHE_JWT_PUBLIC_KEY_FILE: open " + pemFile + ".nope"},
		{"private key file", "jwt", secret, privFile, "", "", "", "CONDCACHE_JWT_PUBLIC_KEY_FILE \"" + privFile + "\": holds a private key"},
		{"bad JWKS", "jwt", secret, "", badFile, "", "", "CONDCACHE_JWKS_FILE \"" + badFile + "\": key 0: kty \"oct\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("CDB_AUTH_CLASS", c.class)
			t.Setenv("CDB_PERMISSION_PLUGIN_CLASS", "")
			if c.jwtSecret == unset {
				unsetenv(t, "JWT_SECRET")
			} else {
				t.Setenv("JWT_SECRET", c.jwtSecret)
			}
			t.Setenv(EnvPublicKeyFile, c.publicKey)
			t.Setenv(EnvJWKSFile, c.jwksPath)
			t.Setenv(EnvAllowHS256, c.allowHS)
			cfg, err := ConfigFromEnv()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one holding %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error prints the secret: %v", err)
				}
				checkNoMaterial(t, c.name, err.Error(), pemData)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.algs, " "); got != c.wantAlgs {
				t.Errorf("algorithms %q, want %q", got, c.wantAlgs)
			}
			if a.hs256 != (a.secret != nil) {
				t.Errorf("hs256 %t with secret %t", a.hs256, a.secret != nil)
			}
			for _, s := range []string{cfg.String(), fmt.Sprintf("%#v", cfg)} {
				if strings.Contains(s, secret) {
					t.Errorf("the config prints the secret: %s", s)
				}
				checkNoMaterial(t, c.name, s, pemData)
			}
		})
	}
}

// TestNewWithKeys: with HS256 off the public default secret is harmless, so
// there is no warning about it; keys without authentication are refused
// when the Config is built in code, too.
func TestNewWithKeys(t *testing.T) {
	ks, err := ParsePublicKeyPEM(publicPEM(t, keys(t).ec1.Public()))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := New(Config{Enabled: true, Secret: []byte(DefaultSecret), Keys: ks}, logger); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "public default") || !strings.Contains(buf.String(), "algorithms=[ES256]") {
		t.Errorf("log:\n%s", buf.String())
	}
	buf.Reset()
	if _, err := New(Config{Enabled: true, Secret: []byte(DefaultSecret), Keys: ks, AllowHS256: true}, logger); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "public default") {
		t.Errorf("no warning with HS256 kept on the default secret:\n%s", buf.String())
	}
	if _, err := New(Config{Keys: ks}, nil); err == nil || !strings.Contains(err.Error(), "CDB_AUTH_CLASS is empty") {
		t.Errorf("keys without authentication: %v", err)
	}
}
