// Package auth is the write authentication and permission layer of the
// writer (docs/compatibility.md "Authentication and permissions"): it verifies the raw value of an Authorization header
// exactly as Nopayloaddb's CustomJWTAuthentication does (HS256 JWTs, 403 with
// the reference's messages), and decides permissions with the dummy or the
// Belle II permission plugin. It wraps golang-jwt and knows nothing of HTTP.
//
// Beyond the reference, tokens may be RS256 or ES256, verified with a
// public key or a JSON Web Key Set from a file, so that the writer holds no
// key able to mint tokens. The same claim rules and refusal texts apply.
//
// Neither the secret nor a token is ever logged or put into an error.
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
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

// Condcache's own variables for asymmetric tokens (the reference has none).
const (
	// EnvPublicKeyFile names a PEM file with one RSA or EC P-256 public key.
	EnvPublicKeyFile = "CONDCACHE_JWT_PUBLIC_KEY_FILE"
	// EnvJWKSFile names a JSON Web Key Set file.
	EnvJWKSFile = "CONDCACHE_JWKS_FILE"
	// EnvAllowHS256 ("true" or "false") keeps HS256 with JWT_SECRET
	// accepted next to the public keys; unset, it is refused there.
	EnvAllowHS256 = "CONDCACHE_JWT_ALLOW_HS256"
)

// Config is the authentication configuration, built from the environment
// by ConfigFromEnv or ParseConfig.
type Config struct {
	// Enabled turns on JWT authentication of POST, PUT, PATCH and DELETE.
	Enabled bool
	// Secret is the HS256 key (JWT_SECRET as UTF-8 bytes).
	Secret []byte
	// Plugin is the permission plugin: PluginDummy (also ""), PluginBelle2,
	// or their reference class paths.
	Plugin string
	// Keys verify RS256 and ES256 tokens. Empty: HS256 only, as the
	// reference.
	Keys KeySet
	// AllowHS256 keeps HS256 accepted when Keys is not empty. Without it,
	// configuring keys turns HS256 off, so that the secret, which can mint
	// tokens and may be the public default, stops mattering.
	AllowHS256 bool
}

// hs256 reports whether HS256 tokens are accepted.
func (c Config) hs256() bool { return c.Keys.Len() == 0 || c.AllowHS256 }

// ConfigFromEnv reads CDB_AUTH_CLASS, JWT_SECRET (default DefaultSecret when
// unset) and CDB_PERMISSION_PLUGIN_CLASS, as the reference does, and
// condcache's EnvPublicKeyFile, EnvJWKSFile and EnvAllowHS256. Only the
// CDB_-prefixed plugin variable is read, as the reference does (the Belle
// II Helm chart's unprefixed PERMISSION_PLUGIN_CLASS has no effect there
// either, docs/compatibility.md "Configuration names"). Key files are read and checked here, so that a bad
// one stops the start-up.
func ConfigFromEnv() (Config, error) {
	secret, ok := os.LookupEnv("JWT_SECRET")
	if !ok {
		secret = DefaultSecret
	}
	return Load(Settings{
		AuthClass: os.Getenv("CDB_AUTH_CLASS"), Secret: secret, Plugin: os.Getenv("CDB_PERMISSION_PLUGIN_CLASS"),
		PublicKeyFile: os.Getenv(EnvPublicKeyFile), JWKSFile: os.Getenv(EnvJWKSFile), AllowHS256: os.Getenv(EnvAllowHS256),
	})
}

// Settings are the values of the authentication variables, as a
// configuration table read them ("" for an unset one, except Secret,
// which is DefaultSecret when JWT_SECRET is unset).
type Settings struct {
	AuthClass, Secret, Plugin           string
	PublicKeyFile, JWKSFile, AllowHS256 string
}

// Load builds the Config of s as ConfigFromEnv does: key files are read
// and checked, and every error names the variable at fault.
func Load(s Settings) (Config, error) {
	cfg, err := parseConfig(s.AuthClass, s.Secret, s.Plugin)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.loadKeys(s.PublicKeyFile, s.JWKSFile, s.AllowHS256); err != nil {
		return Config{}, err
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ParseConfig builds a Config from the values of CDB_AUTH_CLASS, JWT_SECRET
// and CDB_PERMISSION_PLUGIN_CLASS. An unknown class or plugin is an error
// naming the accepted values, so a typo cannot silently leave writes open.
func ParseConfig(authClass, secret, plugin string) (Config, error) {
	cfg, err := parseConfig(authClass, secret, plugin)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func parseConfig(authClass, secret, plugin string) (Config, error) {
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
	return cfg, nil
}

// loadKeys reads the key file named by EnvPublicKeyFile or EnvJWKSFile
// (values "" when unset) and applies EnvAllowHS256.
func (c *Config) loadKeys(publicKeyFile, jwksFile, allowHS256 string) error {
	var err error
	switch {
	case publicKeyFile != "" && jwksFile != "":
		// Which one a token without kid would use is unclear: refuse.
		return fmt.Errorf("%s and %s are both set: set one (a key set can hold several keys)", EnvPublicKeyFile, EnvJWKSFile)
	case publicKeyFile != "":
		c.Keys, err = LoadPublicKeyFile(publicKeyFile)
	case jwksFile != "":
		c.Keys, err = LoadJWKSFile(jwksFile)
	}
	if err != nil {
		return err
	}
	if allowHS256 == "" {
		return nil
	}
	allow, err := strconv.ParseBool(strings.TrimSpace(allowHS256))
	if err != nil {
		return fmt.Errorf("%s=%q is not a boolean: use true or false", EnvAllowHS256, allowHS256)
	}
	if !allow && c.Keys.Len() == 0 {
		return fmt.Errorf("%s=false needs %s or %s: without public keys HS256 is the only algorithm", EnvAllowHS256, EnvPublicKeyFile, EnvJWKSFile)
	}
	c.AllowHS256 = allow
	return nil
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
	if c.Enabled && c.hs256() && len(c.Secret) == 0 {
		// Django refuses to start with an empty SECRET_KEY too.
		return errors.New("JWT_SECRET must not be empty when CDB_AUTH_CLASS enables authentication with HS256")
	}
	if !c.Enabled && c.Keys.Len() > 0 {
		// Keys without authentication look protected and are not.
		return fmt.Errorf("public keys are configured (%s) but CDB_AUTH_CLASS is empty, which leaves writes unauthenticated: set CDB_AUTH_CLASS=%s", c.Keys, ClassJWTShort)
	}
	return nil
}

// String describes c without the secret.
func (c Config) String() string {
	return fmt.Sprintf("auth.Config{Enabled: %t, Secret: %s, Plugin: %q, Keys: %s, HS256: %t}",
		c.Enabled, c.secretState(), c.Plugin, c.Keys, c.hs256())
}

// GoString is String, so %#v cannot print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", c.Enabled),
		slog.String("secret", c.secretState()),
		slog.String("plugin", c.Plugin),
		slog.String("keys", c.Keys.String()),
		slog.Bool("hs256", c.hs256()),
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
