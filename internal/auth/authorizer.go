package auth

import (
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a verified token, JSON numbers kept as
// json.Number. They are nil for a request that was not authenticated
// (authentication disabled).
type Claims map[string]any

// Authorizer authenticates write requests and checks permissions. It is
// safe for concurrent use.
type Authorizer struct {
	enabled  bool
	hs256    bool   // HS256 tokens are accepted, with secret
	secret   []byte // nil unless hs256
	keys     KeySet
	algs     []string // accepted algorithms
	parser   *jwt.Parser
	plugin   string
	log      *slog.Logger
	now      func() time.Time
	patterns patternCache
}

// New returns an Authorizer for cfg, or an error for an unknown plugin, an
// empty secret with HS256 accepted, or keys with authentication disabled.
// logger (nil: discard) receives start-up warnings and permission patterns
// that do not compile.
func New(cfg Config, logger *slog.Logger) (*Authorizer, error) {
	plugin, err := normalizePlugin(cfg.Plugin)
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authorizer{
		enabled: cfg.Enabled,
		hs256:   cfg.hs256(),
		keys:    cfg.Keys,
		plugin:  plugin,
		log:     logger,
		now:     time.Now,
	}
	if a.hs256 {
		a.secret = append([]byte(nil), cfg.Secret...)
	}
	a.algs = a.algorithms()
	a.parser = newParser(a.algs)
	a.patterns.log = logger
	if a.enabled && a.hs256 && string(a.secret) == DefaultSecret {
		logger.Warn("JWT_SECRET is the reference's public default: anyone can mint valid tokens; set a secret")
	}
	if !a.enabled && plugin == PluginBelle2 {
		logger.Warn("the belle2 permission plugin without authentication refuses every permission-checked write, as the reference does")
	}
	if a.enabled {
		logger.Info("write authentication", "algorithms", a.algs, "keys", a.keys.String())
	}
	return a, nil
}

// algorithms returns the accepted JWT algorithms.
func (a *Authorizer) algorithms() []string {
	algs := a.keys.algorithms()
	if a.hs256 {
		algs = append([]string{jwt.SigningMethodHS256.Alg()}, algs...)
	}
	return algs
}

// Enabled reports whether write requests must carry a valid token.
func (a *Authorizer) Enabled() bool { return a.enabled }

// Plugin returns the permission plugin in effect: PluginDummy or
// PluginBelle2.
func (a *Authorizer) Plugin() string { return a.plugin }
