// Package auth is the write authentication and permission layer of the
// writer (API.md §5): it verifies the raw value of an Authorization header
// exactly as Nopayloaddb's CustomJWTAuthentication does (HS256 JWTs, 403 with
// the reference's messages), and decides permissions with the dummy or the
// Belle II permission plugin. It wraps golang-jwt and knows nothing of HTTP.
//
// Neither the secret nor a token is ever logged or put into an error.
package auth

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// DefaultSecret is the reference's default JWT_SECRET. It is public: a
// deployment that enables authentication with it lets anyone mint tokens,
// so New warns about it.
const DefaultSecret = "changetosomething"

// Accepted values of CDB_AUTH_CLASS that enable authentication; empty
// disables it.
const (
	ClassJWT      = "cdb_rest.authentication.CustomJWTAuthentication"
	ClassJWTShort = "jwt"
)

// Accepted values of CDB_PERMISSION_PLUGIN_CLASS. Empty means dummy.
const (
	PluginDummy       = "dummy"
	PluginBelle2      = "belle2"
	PluginDummyClass  = "cdb_rest.permissions_plugins.dummy.DummyPermissionPlugin"
	PluginBelle2Class = "cdb_rest.permissions_plugins.belle2.Belle2PermissionPlugin"
)

// Config is the authentication configuration, built from the reference's
// environment variables by ConfigFromEnv or ParseConfig.
type Config struct {
	// Enabled turns on JWT authentication of POST, PUT, PATCH and DELETE.
	Enabled bool
	// Secret is the HS256 key (JWT_SECRET as UTF-8 bytes).
	Secret []byte
	// Plugin is the permission plugin: PluginDummy (also ""), PluginBelle2,
	// or their reference class paths.
	Plugin string
}

// ConfigFromEnv reads CDB_AUTH_CLASS, JWT_SECRET (default DefaultSecret when
// unset) and CDB_PERMISSION_PLUGIN_CLASS. Only the CDB_-prefixed plugin
// variable is read, as the reference does (the Belle II Helm chart's
// unprefixed PERMISSION_PLUGIN_CLASS has no effect there either, API.md §6).
func ConfigFromEnv() (Config, error) {
	secret, ok := os.LookupEnv("JWT_SECRET")
	if !ok {
		secret = DefaultSecret
	}
	return ParseConfig(os.Getenv("CDB_AUTH_CLASS"), secret, os.Getenv("CDB_PERMISSION_PLUGIN_CLASS"))
}

// ParseConfig builds a Config from the values of CDB_AUTH_CLASS, JWT_SECRET
// and CDB_PERMISSION_PLUGIN_CLASS. An unknown class or plugin is an error
// naming the accepted values, so a typo cannot silently leave writes open.
func ParseConfig(authClass, secret, plugin string) (Config, error) {
	var cfg Config
	switch strings.TrimSpace(authClass) {
	case "":
	case ClassJWT, ClassJWTShort:
		cfg.Enabled = true
	default:
		return Config{}, fmt.Errorf("CDB_AUTH_CLASS=%q is not supported: use %q (no authentication), %q or %q",
			authClass, "", ClassJWTShort, ClassJWT)
	}
	p, err := normalizePlugin(plugin)
	if err != nil {
		return Config{}, err
	}
	cfg.Plugin = p
	cfg.Secret = []byte(secret)
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func normalizePlugin(p string) (string, error) {
	switch strings.TrimSpace(p) {
	case "", PluginDummy, PluginDummyClass:
		return PluginDummy, nil
	case PluginBelle2, PluginBelle2Class:
		return PluginBelle2, nil
	}
	return "", fmt.Errorf("CDB_PERMISSION_PLUGIN_CLASS=%q is not supported: use %q, %q, %q or %q",
		p, PluginDummy, PluginDummyClass, PluginBelle2, PluginBelle2Class)
}

func (c Config) validate() error {
	if c.Enabled && len(c.Secret) == 0 {
		// Django refuses to start with an empty SECRET_KEY too.
		return fmt.Errorf("JWT_SECRET must not be empty when CDB_AUTH_CLASS enables authentication")
	}
	return nil
}

// String describes c without the secret.
func (c Config) String() string {
	return fmt.Sprintf("auth.Config{Enabled: %t, Secret: %s, Plugin: %q}", c.Enabled, c.secretState(), c.Plugin)
}

// GoString is String, so %#v cannot print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", c.Enabled),
		slog.String("secret", c.secretState()),
		slog.String("plugin", c.Plugin),
	)
}

func (c Config) secretState() string {
	switch {
	case len(c.Secret) == 0:
		return "(empty)"
	case string(c.Secret) == DefaultSecret:
		return "(public default)"
	}
	return "(set)"
}
