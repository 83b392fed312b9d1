package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// docs/compatibility.md "JWT authentication" (JWT authentication), §5.3 (which endpoint asks for what),
// §5.4 (Belle II plugin, anchored full-match), §8.18/8.19.

type authEnv struct {
	t      *testing.T
	base   string
	writer string
	secret string
	rec    *recorder
	tokens []string
}

func (e *authEnv) sign(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	e.t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens = append(e.tokens, s)
	return s
}

// tok returns a valid HS256 token with claims.
func (e *authEnv) tok(claims jwt.MapClaims) string {
	return e.sign(jwt.SigningMethodHS256, []byte(e.secret), claims)
}

// as returns a client sending "Bearer <token for claims>".
func (e *authEnv) as(claims jwt.MapClaims) *client {
	return e.raw("Bearer " + e.tok(claims))
}

// raw returns a client sending the given Authorization header ("" = none).
func (e *authEnv) raw(header string) *client {
	return &client{t: e.t, base: e.base, auth: header, rec: e.rec}
}

func admin(patterns ...any) jwt.MapClaims { return jwt.MapClaims{"b2cdb:admin": patterns} }
func createiov(patterns ...any) jwt.MapClaims {
	return jwt.MapClaims{"b2cdb:createiov": patterns}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-" + hex.EncodeToString(b[:])
	sv, database := startServersDB(t,
		"CDB_AUTH_CLASS=cdb_rest.authentication.CustomJWTAuthentication",
		"JWT_SECRET="+secret,
		"CDB_PERMISSION_PLUGIN_CLASS=cdb_rest.permissions_plugins.belle2.Belle2PermissionPlugin")
	e := &authEnv{t: t, base: sv.ReaderURL, writer: sv.WriterURL, secret: secret, rec: &recorder{}}
	root := e.as(admin(".*"))
	for _, s := range []string{"unlocked", "locked"} {
		root.ensureStatus(s)
	}

	t.Run("authentication", func(t *testing.T) { testAuthentication(t, e) })
	t.Run("permissions", func(t *testing.T) { testPermissions(t, e) })
	t.Run("audit", func(t *testing.T) { testAuditWithTokens(t, e, database) })
	t.Run("notices", func(t *testing.T) { testNoticePermissions(t, e) })

	// Neither the secret nor any token appears in any response.
	for _, body := range e.rec.all() {
		if strings.Contains(body, secret) {
			t.Errorf("a response contains JWT_SECRET: %.300s", body)
		}
		for _, tk := range e.tokens {
			sig := tk[strings.LastIndex(tk, ".")+1:]
			if strings.Contains(body, tk) || (len(sig) > 8 && strings.Contains(body, sig)) {
				t.Errorf("a response echoes a token: %.300s", body)
			}
		}
	}
	if len(e.rec.all()) < 50 {
		t.Errorf("recorded only %d responses", len(e.rec.all()))
	}
}

func testAuthentication(t *testing.T, e *authEnv) {
	e.t = t
	now := time.Now().Unix()
	anyone := e.raw("")
	st := func() map[string]any { return map[string]any{"name": uniqz("authst")} }

	// Every row of §5.1, checked on POST gtstatus (no permission check).
	type row struct {
		name, header, detail string
	}
	rows := []row{
		{"no header", "", "Authentication credentials were not provided"},
		{"Bearer only", "Bearer", ""},
		{"three parts", "Bearer a b", ""},
		{"double space", "Bearer  " + e.tok(jwt.MapClaims{}), ""},
		{"Token scheme", "Token " + e.tok(jwt.MapClaims{}), "Wrong access_token format"},
		{"lowercase bearer", "bearer " + e.tok(jwt.MapClaims{}), "Wrong access_token format"},
		{"wrong secret", "Bearer " + e.sign(jwt.SigningMethodHS256, []byte("not-the-secret"), admin(".*")), "invalid signature"},
		{"expired", "Bearer " + e.tok(jwt.MapClaims{"exp": now - 5, "b2cdb:admin": []any{".*"}}), "access_token expired"},
		{"malformed", "Bearer abc", "invalid access_token"},
		{"malformed3", "Bearer a.b.c", "invalid access_token"},
		{"HS384", "Bearer " + e.sign(jwt.SigningMethodHS384, []byte(e.secret), admin(".*")), "invalid access_token"},
		{"HS512", "Bearer " + e.sign(jwt.SigningMethodHS512, []byte(e.secret), admin(".*")), "invalid access_token"},
		{"alg none", "Bearer " + e.sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, admin(".*")), "invalid access_token"},
		{"aud", "Bearer " + e.tok(jwt.MapClaims{"aud": "cdb", "b2cdb:admin": []any{".*"}}), "invalid access_token"},
		{"nbf future", "Bearer " + e.tok(jwt.MapClaims{"nbf": now + 3600}), "invalid access_token"},
		{"iat future", "Bearer " + e.tok(jwt.MapClaims{"iat": now + 3600}), "invalid access_token"},
		{"exp string", "Bearer " + e.tok(jwt.MapClaims{"exp": "tomorrow"}), "invalid access_token"},
	}
	for _, r := range rows {
		body := st()
		c := e.raw(r.header)
		resp := c.do("POST", "gtstatus", body)
		wantErr(t, resp, "unauthorized", r.detail, 403)
		if resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: WWW-Authenticate header set", r.name)
		}
		if _, ok := statusNames(anyone, "gtstatus")[body["name"].(string)]; ok {
			t.Errorf("%s: the refused write created a status", r.name)
		}
	}
	// Valid tokens: no claims at all; exp in the future; nbf/iat in the past.
	for _, claims := range []jwt.MapClaims{
		{},
		{"exp": now + 3600, "nbf": now - 10, "iat": now - 10, "iss": "whoever"},
	} {
		e.as(claims).ok("POST", "gtstatus", st())
	}
	// Authentication comes before routing: a write to a GET-only path.
	wantErr(t, anyone.do("POST", "globalTags", map[string]any{}), "unauthorized", "Authentication credentials were not provided", 403)
	wantErr(t, anyone.do("DELETE", "gtstatus", nil), "unauthorized", "", 403)
	wantStatus(t, e.as(jwt.MapClaims{}).do("POST", "globalTags", map[string]any{}), 405)
	// The writer enforces it too (not only the reader's proxy).
	direct := &client{t: t, base: e.writer, rec: e.rec}
	wantErr(t, direct.do("POST", "gtstatus", st()), "unauthorized", "Authentication credentials were not provided", 403)

	// GETs never need a token, even with a broken one.
	gt := e.as(admin(".*")).mkGT("unlocked")
	for _, h := range []string{"", "Bearer", "Bearer abc", "Token x"} {
		c := e.raw(h)
		c.ok("GET", "globalTags", nil)
		c.ok("GET", "gtstatus", nil)
		c.ok("GET", "globalTag/"+gt, nil)
		c.ok("GET", "payloadiovs/?gtName="+gt+"&majorIOV=0&minorIOV=0", nil)
		c.ok("GET", "pt?page=1", nil)
	}
	// Settings never expose the secret.
	wantErr(t, anyone.get("settings/JWT_SECRET/"), "not_found", "Setting 'JWT_SECRET' not found.", 404)
	m := obj(t, anyone.ok("GET", "settings/CDB_AUTH_CLASS/", nil).JSON)
	if m["CDB_AUTH_CLASS"] != "cdb_rest.authentication.CustomJWTAuthentication" {
		t.Errorf("settings/CDB_AUTH_CLASS/: %v", m)
	}
}

func testPermissions(t *testing.T, e *authEnv) {
	e.t = t
	root := e.as(admin(".*"))
	anyone := e.raw("")
	noClaims := e.as(jwt.MapClaims{})
	const denied = "Permission denied."
	deny := func(r Resp) { t.Helper(); wantErr(t, r, "forbidden", denied, 403) }

	// POST gt: admin pattern full-matches body.name.
	g := uniqz("Bgt")
	deny(e.as(admin(g)).do("POST", "gt", map[string]any{"name": g + "2", "status": "unlocked"}))
	deny(e.as(admin(g)).do("POST", "gt", map[string]any{"name": "x" + g, "status": "unlocked"}))
	deny(noClaims.do("POST", "gt", map[string]any{"name": g, "status": "unlocked"}))
	deny(e.as(createiov(".*")).do("POST", "gt", map[string]any{"name": g, "status": "unlocked"}))
	deny(e.as(jwt.MapClaims{"b2cdb:createpayload": []any{".*"}}).do("POST", "gt", map[string]any{"name": g, "status": "unlocked"}))
	names := root.gtNames()
	for _, n := range []string{g, g + "2", "x" + g} {
		if names[n] {
			t.Errorf("denied POST gt created %s", n)
		}
	}
	e.as(admin(g)).ok("POST", "gt", map[string]any{"name": g, "status": "unlocked"})
	e.as(admin(g+".*")).ok("POST", "gt", map[string]any{"name": g + "2", "status": "unlocked"})
	// Alternation is anchored as a whole: "gA|gB" does not grant "gAB".
	e.as(admin(g+"A|"+g+"B")).ok("POST", "gt", map[string]any{"name": g + "B", "status": "unlocked"})
	deny(e.as(admin(g+"A|"+g+"B")).do("POST", "gt", map[string]any{"name": g + "AB", "status": "unlocked"}))
	// An invalid pattern never matches (and never crashes); others still do.
	deny(e.as(admin("(")).do("POST", "gt", map[string]any{"name": g + "C", "status": "unlocked"}))
	e.as(admin("(", g+"C")).ok("POST", "gt", map[string]any{"name": g + "C", "status": "unlocked"})
	// A string claim is iterated per character (observed quirk, kept).
	deny(e.as(jwt.MapClaims{"b2cdb:admin": "QZ"}).do("POST", "gt", map[string]any{"name": "QZ", "status": "unlocked"}))
	e.as(jwt.MapClaims{"b2cdb:admin": "QZ"}).ok("POST", "gt", map[string]any{"name": "Q", "status": "unlocked"})

	// Writes without a permission check: any authenticated caller.
	pt := uniqz("Bpt")
	noClaims.ok("POST", "gtstatus", map[string]any{"name": uniqz("Bst")})
	noClaims.ok("POST", "pt", map[string]any{"name": pt})
	pl := str(t, obj(t, noClaims.ok("POST", "pl", map[string]any{"payload_type": pt}).JSON)["name"])
	pl2 := str(t, obj(t, noClaims.ok("POST", "pl", map[string]any{"payload_type": pt}).JSON)["name"])
	noClaims.ok("POST", "bulk_piov", []any{map[string]any{"payload_url": uniqz("bk"), "major_iov": 0, "minor_iov": 0, "payload_list": pl2}})
	noClaims.ok("DELETE", "deletePayloadList/"+str(t, obj(t, noClaims.ok("POST", "pl", map[string]any{"payload_type": pt}).JSON)["name"]), nil)
	pt2 := uniqz("Bpt")
	noClaims.ok("POST", "pt", map[string]any{"name": pt2})
	noClaims.ok("DELETE", "deletePayloadType/"+pt2, nil)
	// ...but never without authentication.
	wantErr(t, anyone.do("POST", "pt", map[string]any{"name": uniqz("Bpt")}), "unauthorized", "", 403)

	// pl_attach: admin on body.global_tag.
	h := root.mkGT("unlocked")
	deny(e.as(admin(h)).do("PUT", "pl_attach", map[string]any{"global_tag": g, "payload_list": pl}))
	deny(e.as(createiov(g)).do("PUT", "pl_attach", map[string]any{"global_tag": g, "payload_list": pl}))
	if l := root.gtLists(g); len(l) != 0 {
		t.Errorf("denied pl_attach attached: %v", l)
	}
	e.as(admin(g)).ok("PUT", "pl_attach", map[string]any{"global_tag": g, "payload_list": pl})

	// POST piov: an admin pattern must full-match the payload_url.
	url := "data/" + uniqz("f") + ".root"
	deny(e.as(admin(g)).do("POST", "piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": 0, "minor_iov": 0}))
	deny(e.as(admin("data/")).do("POST", "piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": 0, "minor_iov": 0}))
	deny(e.as(jwt.MapClaims{"b2cdb:createpayload": []any{".*"}}).do("POST", "piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": 0, "minor_iov": 0}))
	deny(e.as(createiov(".*")).do("POST", "piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": 0, "minor_iov": 0}))
	if n := root.countPIOVs(url); n != 0 {
		t.Errorf("denied POST piov created %d IOVs", n)
	}
	id := i64(t, obj(t, e.as(admin("data/.*")).ok("POST", "piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": 0, "minor_iov": 0}).JSON)["id"])
	id2 := root.mkPIOV(uniqz("i2"), P{0, 5}, open)
	id3 := root.mkPIOV(uniqz("i3"), P{0, 7}, open)

	// piov_attach: role createiov on the name of the list's GT.
	deny(e.as(createiov(h)).do("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id}))
	deny(noClaims.do("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id}))
	if l := root.listOfIOV(id); l != "" {
		t.Errorf("denied piov_attach attached to %s", l)
	}
	e.as(createiov(g)).ok("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
	e.as(admin(g)).ok("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id2}) // admin grants all roles
	// A detached list checks the empty name: ".*" matches it, "x" does not.
	detached := str(t, obj(t, noClaims.ok("POST", "pl", map[string]any{"payload_type": pt}).JSON)["name"])
	deny(e.as(createiov("x")).do("PUT", "piov_attach", map[string]any{"payload_list": detached, "piov_id": id3}))
	e.as(createiov(".*")).ok("PUT", "piov_attach", map[string]any{"payload_list": detached, "piov_id": id3})

	// gt_change_status: admin on <gt>.
	deny(e.as(admin(h)).do("PUT", "gt_change_status/"+g+"/locked", rawJSON("null")))
	if s := obj(t, root.ok("GET", "globalTag/"+g+"?light", nil).JSON)["status"]; s != "unlocked" {
		t.Errorf("denied change-status changed it to %v", s)
	}
	e.as(admin(g)).ok("PUT", "gt_change_status/"+g+"/unlocked", rawJSON("null"))

	// clone: admin on the destination name, not the source.
	dst := uniqz("Bclone")
	deny(e.as(admin(g)).do("POST", "cloneGlobalTag/"+g+"/"+dst, rawJSON("null")))
	if root.gtNames()[dst] {
		t.Errorf("denied clone created %s", dst)
	}
	e.as(admin(dst)).ok("POST", "cloneGlobalTag/"+g+"/"+dst, rawJSON("null"))

	// deletePayloadIOV: admin on <gt>.
	deny(e.as(admin(h)).do("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/0/5", g, pt), nil))
	deny(e.as(createiov(g)).do("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/0/5", g, pt), nil))
	if n := len(root.iovsOf(g, pt)); n != 2 {
		t.Errorf("denied IOV delete: %d IOVs left, want 2", n)
	}
	e.as(admin(g)).ok("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/0/5", g, pt), nil)

	// deleteGlobalTag: admin on <gt>.
	deny(e.as(admin(h)).do("DELETE", "deleteGlobalTag/"+dst, nil))
	deny(noClaims.do("DELETE", "deleteGlobalTag/"+dst, nil))
	if !root.gtNames()[dst] {
		t.Errorf("denied delete removed %s", dst)
	}
	e.as(admin(dst)).ok("DELETE", "deleteGlobalTag/"+dst, nil)
}

// testAuditWithTokens: a token's subject is the actor of its writes, and
// neither the secret nor any token, sent as the Authorization header or
// hidden in a body or a query string, is stored in the audit trail.
func testAuditWithTokens(t *testing.T, e *authEnv, database string) {
	alice := &client{t: t, base: e.base, rec: e.rec, auth: "Bearer " + e.tok(jwt.MapClaims{"sub": "alice", "b2cdb:admin": []any{".*"}})}
	gt := uniqz("AuditGT")
	hidden := e.tok(jwt.MapClaims{"sub": "hidden"})
	alice.ok("POST", "gt?note=Bearer%20"+hidden, map[string]any{"name": gt, "status": "unlocked", "note": "token " + hidden})
	alice.ok("PUT", "gt_change_status/"+gt+"/locked", rawJSON("null"))
	anyone := &client{t: t, base: e.base, rec: e.rec}
	page := obj(t, anyone.ok("GET", "/api/v2/audit?gt="+gt, nil).JSON)
	results := arr(t, page["results"])
	if len(results) != 2 {
		t.Fatalf("audit of %s: %v, want 2 entries", gt, page)
	}
	for i, want := range []string{"ChangeGlobalTagStatus", "CreateGlobalTag"} {
		entry := obj(t, results[i])
		if str(t, entry["endpoint"]) != want || str(t, entry["actor"]) != "jwt:alice" {
			t.Errorf("entry %d: %v, want endpoint %s by jwt:alice", i, entry, want)
		}
		anyone.ok("GET", fmt.Sprintf("/api/v2/audit/%d", i64(t, entry["id"])), nil) // recorded, checked by TestAuth
	}
	anyone.ok("GET", "/api/v2/audit?page_size=1000", nil)

	db, err := stack.Primary.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(t.Context())
	var stored string
	if err := db.QueryRow(t.Context(), `SELECT coalesce(string_agg(a::text, ' '), '') || ' ' ||
			coalesce((SELECT string_agg(c::text, ' ') FROM condcache_audit_change c), '') FROM condcache_audit a`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) < 1000 {
		t.Fatalf("the audit trail holds only %d bytes", len(stored))
	}
	for _, tk := range e.tokens {
		if sig := tk[strings.LastIndex(tk, ".")+1:]; strings.Contains(stored, tk) || (len(sig) > 8 && strings.Contains(stored, sig)) {
			t.Errorf("the audit trail stores a token: %.60s…", tk)
		}
	}
	if strings.Contains(stored, e.secret) {
		t.Error("the audit trail stores JWT_SECRET")
	}
}
