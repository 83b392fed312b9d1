package auth

import (
	"log/slog"
	"time"
)

// Claims are the claims of a verified token, JSON numbers kept as
// json.Number. They are nil for a request that was not authenticated
// (authentication disabled).
type Claims map[string]any

// Authorizer authenticates write requests and checks permissions. It is
// safe for concurrent use.
type Authorizer struct {
	enabled  bool
	secret   []byte
	plugin   string
	log      *slog.Logger
	now      func() time.Time
	patterns patternCache
}

// New returns an Authorizer for cfg, or an error for an unknown plugin or an
// empty secret with authentication enabled. logger (nil: discard) receives
// start-up warnings and permission patterns that do not compile.
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
		secret:  append([]byte(nil), cfg.Secret...),
		plugin:  plugin,
		log:     logger,
		now:     time.Now,
	}
	a.patterns.log = logger
	if a.enabled && string(a.secret) == DefaultSecret {
		logger.Warn("JWT_SECRET is the reference's public default: anyone can mint valid tokens; set a secret")
	}
	if !a.enabled && plugin == PluginBelle2 {
		logger.Warn("the belle2 permission plugin without authentication refuses every permission-checked write, as the reference does")
	}
	return a, nil
}

// Enabled reports whether write requests must carry a valid token.
func (a *Authorizer) Enabled() bool { return a.enabled }

// Plugin returns the permission plugin in effect: PluginDummy or
// PluginBelle2.
func (a *Authorizer) Plugin() string { return a.plugin }
