package writer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/condcache/condcache/internal/auth"
)

const secret = "writer-test-secret"

func token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bearer returns the Authorization header pair of a valid HS256 token.
func bearer(t *testing.T, claims jwt.MapClaims) []string {
	return []string{"Authorization", "Bearer " + token(t, jwt.SigningMethodHS256, []byte(secret), claims)}
}

func admin(p ...any) jwt.MapClaims     { return jwt.MapClaims{auth.ClaimAdmin: p} }
func createiov(p ...any) jwt.MapClaims { return jwt.MapClaims{auth.ClaimCreateIOV: p} }

// TestAuthentication: every row of docs/compatibility.md "JWT authentication" answered 403 with the
// reference's text before anything else happens.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Auth: auth.Config{Enabled: true, Secret: []byte(secret)}})
	now := time.Now().Unix()
	valid := token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{})
	rows := []struct{ name, header, detail string }{
		{"no header", "", "Authentication credentials were not provided"},
		{"Bearer only", "Bearer", "Wrong access_token format"},
		{"three parts", "Bearer a b", "Wrong access_token format"},
		{"double space", "Bearer  " + valid, "Wrong access_token format"},
		{"Token scheme", "Token x", "Wrong access_token format"},
		{"lowercase", "bearer " + valid, "Wrong access_token format"},
		{"wrong secret", "Bearer " + token(t, jwt.SigningMethodHS256, []byte("nope"), jwt.MapClaims{}), "invalid signature"},
		{"expired", "Bearer " + token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"exp": now - 5}), "access_token expired"},
		{"malformed", "Bearer abc", "invalid access_token"},
		{"alg none", "Bearer " + token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{}), "invalid access_token"},
		{"HS512", "Bearer " + token(t, jwt.SigningMethodHS512, []byte(secret), jwt.MapClaims{}), "invalid access_token"},
		{"aud", "Bearer " + token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"aud": "cdb"}), "invalid access_token"},
		{"nbf future", "Bearer " + token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"nbf": now + 3600}), "invalid access_token"},
	}
	writes := []struct{ method, path, body string }{
		{"POST", "gtstatus", `{"name":"s"}`}, {"POST", "gt", `{"name":"G","status":"unlocked"}`},
		{"PUT", "pl_attach", `{"global_tag":"G","payload_list":"L"}`}, {"DELETE", "deleteGlobalTag/G", noBody},
		{"PUT", "gt_change_status/G/locked", "null"}, {"POST", "bulk_piov", `[]`},
		// Before routing: unknown and read-only paths, and bad bodies.
		{"POST", "globalTags", `{}`}, {"DELETE", "gtstatus", noBody}, {"PATCH", "pl_attach", noBody},
		{"POST", "nosuch", noBody}, {"POST", "gt", `{bad json`},
	}
	for _, r := range rows {
		var h []string
		if r.header != "" {
			h = []string{"Authorization", r.header}
		}
		for _, w := range writes {
			res := s.do(w.method, w.path, w.body, h...)
			wantError(t, r.name+": "+w.method+" "+w.path, res, 403, "unauthorized", r.detail)
			if res.header.Peek("WWW-Authenticate") != nil {
				t.Errorf("%s: WWW-Authenticate set", r.name)
			}
			if tok := strings.TrimPrefix(r.header, "Bearer "); len(tok) > 8 && strings.Contains(res.body, tok) {
				t.Errorf("%s: the answer echoes the token", r.name)
			}
		}
	}
	s.wantCalls("refused")

	// A valid token passes, and routing happens after it.
	ok := bearer(t, jwt.MapClaims{"exp": now + 60})
	if r := s.do("POST", "gtstatus", `{"name":"s"}`, ok...); r.status != 200 {
		t.Errorf("valid token: %d %s", r.status, r.body)
	}
	wantError(t, "valid token, read-only path", s.do("POST", "globalTags", `{}`, ok...), 405, "", `Method "POST" not allowed.`)
	wantError(t, "valid token, unknown path", s.do("POST", "nosuch", noBody, ok...), 404, "not_found", "")
	wantError(t, "valid token, bad JSON", s.do("POST", "gt", `{bad`, ok...), 400, "invalid", "")
	s.wantCalls("valid token", `CreateGlobalTagStatus("s")`)

	// Reads and non-API paths are never authenticated.
	for _, h := range [][]string{nil, {"Authorization", "Bearer abc"}} {
		if r := s.do("GET", "/healthz", noBody, h...); r.status != 200 {
			t.Errorf("healthz with %v: %d", h, r.status)
		}
		if r := s.do("GET", "globalTags", noBody, h...); r.status != 405 {
			t.Errorf("GET globalTags with %v: %d, want 405", h, r.status)
		}
		if r := s.do("POST", "/healthz", noBody, h...); r.status != 405 {
			t.Errorf("POST /healthz with %v: %d, want 405", h, r.status)
		}
		if r := s.do("OPTIONS", "gt", noBody, h...); r.status != 200 {
			t.Errorf("OPTIONS gt with %v: %d, want 200", h, r.status)
		}
	}
	// The access log never holds a token.
	if strings.Contains(s.logs.String(), valid[len(valid)-20:]) || strings.Contains(s.logs.String(), secret) {
		t.Errorf("the log holds a credential:\n%s", s.logs.String())
	}
}

// TestPublicKeyAuthentication: with only an RSA public key configured, an
// RS256 token signed by its private key writes, its claims go to the
// permission check, and HS256 tokens are refused, whether signed with
// JWT_SECRET or with the public key's bytes (algorithm confusion).
func TestPublicKeyAuthentication(t *testing.T) {
	t.Parallel()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	keys, err := auth.ParsePublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Auth: auth.Config{Enabled: true, Secret: []byte(secret), Keys: keys, Plugin: auth.PluginBelle2}})

	rs256 := func(key *rsa.PrivateKey, claims jwt.MapClaims) []string {
		return []string{"Authorization", "Bearer " + token(t, jwt.SigningMethodRS256, key, claims)}
	}
	if r := s.do("POST", "gt", `{"name":"GT1","status":"unlocked"}`, rs256(priv, admin("GT.*"))...); r.status != 200 {
		t.Errorf("RS256: %d %s", r.status, r.body)
	}
	s.wantCalls("RS256", `CreateGlobalTag("GT1", "unlocked", nil)`)
	wantError(t, "RS256, other GT", s.do("POST", "gt", `{"name":"xGT1","status":"unlocked"}`, rs256(priv, admin("GT.*"))...), 403, "forbidden", "Permission denied.")

	refused := []struct{ name, header, detail string }{
		{"HS256 with JWT_SECRET", bearer(t, admin(".*"))[1], "invalid access_token"},
		{"HS256 keyed with the public key", "Bearer " + token(t, jwt.SigningMethodHS256, pub, admin(".*")), "invalid access_token"},
		{"RS256 from another key", rs256(other, admin(".*"))[1], "invalid signature"},
		{"RS256 expired", rs256(priv, jwt.MapClaims{"exp": time.Now().Unix() - 5})[1], "access_token expired"},
		{"alg none", "Bearer " + token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, admin(".*")), "invalid access_token"},
	}
	for _, r := range refused {
		res := s.do("POST", "gt", `{"name":"GT1","status":"unlocked"}`, "Authorization", r.header)
		wantError(t, r.name, res, 403, "unauthorized", r.detail)
		if tok := strings.TrimPrefix(r.header, "Bearer "); strings.Contains(res.body, tok) {
			t.Errorf("%s: the answer echoes the token", r.name)
		}
	}
	s.wantCalls("refused")
	if strings.Contains(s.logs.String(), secret) {
		t.Errorf("the log holds the secret:\n%s", s.logs.String())
	}
}

// TestPermissions checks every row of docs/compatibility.md "Permission checks" with the Belle II
// plugin: which endpoints ask, for which role, on which name.
func TestPermissions(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Auth: auth.Config{Enabled: true, Secret: []byte(secret), Plugin: auth.PluginBelle2}})
	const denied = "Permission denied."
	cases := []struct {
		name               string
		method, path, body string
		allow, deny        []jwt.MapClaims // tokens that pass / are refused
		call               string
	}{
		{"POST gt: admin on body name", "POST", "gt", `{"name":"GT1","status":"unlocked"}`,
			[]jwt.MapClaims{admin("GT1"), admin("GT.*"), admin("x", "GT1")},
			[]jwt.MapClaims{{}, admin("GT"), admin("GT12"), admin("xGT1"), createiov(".*"), {auth.ClaimCreatePayload: []any{".*"}}},
			`CreateGlobalTag("GT1", "unlocked", nil)`},
		{"POST gt: the trimmed name is checked", "POST", "gt", `{"name":" GT1 ","status":"unlocked"}`,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin(" GT1 ")}, `CreateGlobalTag("GT1", "unlocked", nil)`},
		{"POST gt: alternation anchored as a whole", "POST", "gt", `{"name":"AB","status":"unlocked"}`,
			[]jwt.MapClaims{admin("AB|C")}, []jwt.MapClaims{admin("A|B"), admin("(")}, `CreateGlobalTag("AB", "unlocked", nil)`},
		{"DELETE deleteGlobalTag: admin on <gt>", "DELETE", "deleteGlobalTag/GT1", noBody,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("GT2"), createiov("GT1")}, `DeleteGlobalTag("GT1")`},
		{"alias delete", "DELETE", "global-tags/GT1/delete", noBody,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("GT2")}, `DeleteGlobalTag("GT1")`},
		{"clone: admin on <dst>, not <src>", "POST", "cloneGlobalTag/SRC/DST", "null",
			[]jwt.MapClaims{admin("DST")}, []jwt.MapClaims{admin("SRC"), createiov("DST")}, `CloneGlobalTag("SRC", "DST")`},
		{"alias clone", "POST", "global-tags/SRC/clone/DST", "null",
			[]jwt.MapClaims{admin("DST")}, []jwt.MapClaims{admin("SRC")}, `CloneGlobalTag("SRC", "DST")`},
		{"change status: admin on <gt>", "PUT", "gt_change_status/GT1/locked", "null",
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("locked"), createiov("GT1")}, `ChangeGlobalTagStatus("GT1", "locked")`},
		{"alias change status", "PUT", "global-tags/GT1/change-status/locked", "null",
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("locked")}, `ChangeGlobalTagStatus("GT1", "locked")`},
		{"pl_attach: admin on body global_tag", "PUT", "pl_attach", `{"global_tag":"GT1","payload_list":"L"}`,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("L"), createiov("GT1")}, `AttachPayloadList("GT1", "L")`},
		{"alias pl_attach", "PUT", "payload-lists/attach", `{"global_tag":"GT1","payload_list":"L"}`,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("L")}, `AttachPayloadList("GT1", "L")`},
		{"deletePayloadIOV: admin on <gt>", "DELETE", "deletePayloadIOV/GT1/P/0/5", noBody,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("P"), createiov("GT1")},
			`DeletePayloadIOV("GT1", "P", (0,5)->(9223372036854775807,9223372036854775807))`},
		{"deletePayloadIOV 6 numbers", "DELETE", "payload-iovs/GT1/P/0/5/1/0/delete", noBody,
			[]jwt.MapClaims{admin("GT1")}, []jwt.MapClaims{admin("P")}, `DeletePayloadIOV("GT1", "P", (0,5)->(1,0))`},
		{"POST piov: admin (sic) on payload_url", "POST", "piov", `{"payload_url":"data/f.root","checksum":"c","major_iov":0,"minor_iov":0}`,
			[]jwt.MapClaims{admin("data/.*")},
			[]jwt.MapClaims{admin("data/"), createiov(".*"), {auth.ClaimCreatePayload: []any{".*"}}},
			`CreatePayloadIOV("data/f.root", "c", nil, (0,0)->(9223372036854775807,9223372036854775807))`},
		// No permission check: any authenticated caller.
		{"POST gtstatus", "POST", "gtstatus", `{"name":"s"}`, []jwt.MapClaims{{}}, nil, `CreateGlobalTagStatus("s")`},
		{"POST pt", "POST", "payload-types", `{"name":"P"}`, []jwt.MapClaims{{}}, nil, `CreatePayloadType("P")`},
		{"POST pl", "POST", "pl", `{"payload_type":"P"}`, []jwt.MapClaims{{}}, nil, `CreatePayloadList("P")`},
		{"POST bulk", "POST", "bulk_piov", `[]`, []jwt.MapClaims{{}}, nil, `BulkCreatePayloadIOVs([])`},
		{"DELETE type", "DELETE", "deletePayloadType/P", noBody, []jwt.MapClaims{{}}, nil, `DeletePayloadType("P")`},
		{"DELETE list", "DELETE", "deletePayloadList/L", noBody, []jwt.MapClaims{{}}, nil, `DeletePayloadList("L")`},
	}
	for _, c := range cases {
		for _, claims := range c.allow {
			r := s.do(c.method, c.path, c.body, bearer(t, claims)...)
			if r.status != 200 {
				t.Errorf("%s with %v: %d %s, want 200", c.name, claims, r.status, r.body)
			}
			s.wantCalls(c.name, c.call)
		}
		for _, claims := range c.deny {
			wantError(t, c.name, s.do(c.method, c.path, c.body, bearer(t, claims)...), 403, "forbidden", denied)
			s.wantCalls(c.name + " denied")
		}
	}

	// The permission check comes before the validation of the other fields.
	wantError(t, "denied before validation", s.do("POST", "gt", `{"name":"X","author":""}`, bearer(t, admin("Y"))...), 403, "forbidden", denied)
	wantError(t, "denied before validation", s.do("POST", "piov", `{"payload_url":"X"}`, bearer(t, admin("Y"))...), 403, "forbidden", denied)
	wantError(t, "denied before validation", s.do("PUT", "pl_attach", `{"global_tag":"X"}`, bearer(t, admin("Y"))...), 403, "forbidden", denied)
	s.wantCalls("denied before validation")
}

// TestAttachAuthorize: piov_attach checks role createiov on the name of
// the list's GT, which only the service knows: through its authorize
// callback.
func TestAttachAuthorize(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Auth: auth.Config{Enabled: true, Secret: []byte(secret), Plugin: auth.PluginBelle2}})
	body := `{"payload_list":"L","piov_id":3}`
	s.svc.listGT = "GT1"
	for _, claims := range []jwt.MapClaims{createiov("GT1"), admin("GT1"), createiov("GT.*")} {
		if r := s.do("PUT", "piov_attach", body, bearer(t, claims)...); r.status != 200 {
			t.Errorf("%v: %d %s", claims, r.status, r.body)
		}
		s.wantCalls("allowed", `AttachPayloadIOV("L", 3)`, `authorize("GT1") = <nil>`)
	}
	for _, claims := range []jwt.MapClaims{createiov("GT2"), createiov("L"), {}, {auth.ClaimCreatePayload: []any{".*"}}} {
		wantError(t, "denied", s.do("PUT", "payload-iovs/attach", body, bearer(t, claims)...), 403, "forbidden", "Permission denied.")
		s.wantCalls("denied", `AttachPayloadIOV("L", 3)`, `authorize("GT1") = forbidden: Permission denied.`)
	}
	// A detached list checks the empty name.
	s.svc.listGT = ""
	if r := s.do("PUT", "piov_attach", body, bearer(t, createiov(".*"))...); r.status != 200 {
		t.Errorf("detached, .*: %d %s", r.status, r.body)
	}
	s.wantCalls("detached allowed", `AttachPayloadIOV("L", 3)`, `authorize("") = <nil>`)
	wantError(t, "detached, x", s.do("PUT", "piov_attach", body, bearer(t, createiov("x"))...), 403, "forbidden", "Permission denied.")
	s.wantCalls("detached denied", `AttachPayloadIOV("L", 3)`, `authorize("") = forbidden: Permission denied.`)
}

// TestBelle2WithoutAuthentication: with no authentication there are no
// claims, so every permission-checked write is refused (docs/compatibility.md "Belle II plugin") and
// the others work.
func TestBelle2WithoutAuthentication(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Auth: auth.Config{Plugin: auth.PluginBelle2Class}})
	wantError(t, "POST gt", s.do("POST", "gt", `{"name":"G","status":"unlocked"}`), 403, "forbidden", "Permission denied.")
	wantError(t, "DELETE GT", s.do("DELETE", "deleteGlobalTag/G", noBody), 403, "forbidden", "Permission denied.")
	s.wantCalls("refused")
	if r := s.do("POST", "pt", `{"name":"P"}`); r.status != 200 {
		t.Errorf("POST pt: %d %s", r.status, r.body)
	}
	s.wantCalls("unchecked", `CreatePayloadType("P")`)
}

func TestDummyPluginAllowsAll(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Auth: auth.Config{Enabled: true, Secret: []byte(secret), Plugin: auth.PluginDummyClass}})
	if r := s.do("DELETE", "deleteGlobalTag/G", noBody, bearer(t, jwt.MapClaims{})...); r.status != 200 {
		t.Errorf("DELETE GT: %d %s", r.status, r.body)
	}
	s.svc.listGT = "G"
	if r := s.do("PUT", "piov_attach", `{"payload_list":"L","piov_id":1}`, bearer(t, jwt.MapClaims{})...); r.status != 200 {
		t.Errorf("piov_attach: %d %s", r.status, r.body)
	}
	s.wantCalls("dummy", `DeleteGlobalTag("G")`, `AttachPayloadIOV("L", 1)`, `authorize("G") = <nil>`)
}

// TestAuthDisabled: with the default configuration no write needs a token
// (the C++ client sends none) and a broken header is ignored.
func TestAuthDisabled(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, h := range [][]string{nil, {"Authorization", "Bearer"}, {"Authorization", "Token x"}, {"Authorization", "Bearer abc"}} {
		if r := s.do("DELETE", "deleteGlobalTag/G", noBody, h...); r.status != 200 {
			t.Errorf("with %v: %d %s", h, r.status, r.body)
		}
		s.wantCalls("no auth", `DeleteGlobalTag("G")`)
	}
}
