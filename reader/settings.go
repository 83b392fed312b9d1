package reader

import (
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// settingPrefix is the prefix of the environment variables the settings
// endpoint may show (docs/compatibility.md "Settings").
const settingPrefix = "CDB_"

// secretMarkers are name fragments of variables that must never be served,
// whatever someone puts under the CDB_ prefix (docs/compatibility.md "Settings").
var secretMarkers = []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "DSN"}

// visibleSettings returns what the settings endpoint serves: the captured
// CDB_* variables minus anything that looks secret, plus the effective value
// of the settings this process knows, set or not (the reference answers 404
// for an unset CDB_IOV_MODE although "continuous" is in effect, §8.22).
func visibleSettings(env map[string]string, mode condcache.IOVMode) map[string]string {
	out := make(map[string]string, len(env)+1)
	for name, value := range env {
		if strings.HasPrefix(name, settingPrefix) && !looksSecret(name, value) {
			out[name] = value
		}
	}
	// The effective mode, which is what the writer enforces, rather than the
	// raw variable ("" also means continuous).
	out["CDB_IOV_MODE"] = string(mode)
	return out
}

// looksSecret reports whether a variable must be hidden: by its name, or by
// a value that is a URL carrying a password.
func looksSecret(name, value string) bool {
	upper := strings.ToUpper(name)
	for _, m := range secretMarkers {
		if strings.Contains(upper, m) {
			return true
		}
	}
	if strings.Contains(value, "@") {
		if u, err := url.Parse(value); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				return true
			}
		}
	}
	return false
}

// setting answers GET user_settings/<name>/ with {"<name>": "<value>"}, or
// 404 {"detail":"Setting '<name>' not found."}; a hidden secret is
// indistinguishable from an unset variable.
func (s *Server) setting(ctx *fasthttp.RequestCtx) error {
	name := drf.PathParam(ctx, "name")
	value, ok := s.settings[name]
	if !ok {
		return condcache.Errorf(condcache.ENotFound, "Setting '%s' not found.", name)
	}
	b := make([]byte, 0, len(name)+len(value)+8)
	b = append(b, '{')
	b = wire.AppendString(b, name)
	b = append(b, ':')
	b = wire.AppendString(b, value)
	b = append(b, '}')
	api.WriteJSON(ctx, fasthttp.StatusOK, b)
	return nil
}
