package redact

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestCredentials(t *testing.T) {
	for in, want := range map[string]string{
		// URLs: the user stays, the password goes.
		"dial postgres://login:secret@db:5432/x failed":                    "dial postgres://login:***@db:5432/x failed",
		"postgresql://u:p@ss/w:rd@db/x?sslmode=disable":                    "postgresql://u:***@ss/w:rd@db/x?sslmode=disable",
		"postgres://u:p%40ss@db/x":                                         "postgres://u:***@db/x",
		"postgres://condcache@127.0.0.1:15432/condcache":                   "postgres://condcache@127.0.0.1:15432/condcache",
		"postgres://u@db/x?password=secret&sslmode=disable":                "postgres://u@db/x?password=***&sslmode=disable",
		"postgres://u@db/x?sslpassword=secret":                             "postgres://u@db/x?sslpassword=***",
		"redis://:secret@127.0.0.1:6379/0":                                 "redis://:***@127.0.0.1:6379/0",
		"rediss://default:secret@cache.example:6380/1":                     "rediss://default:***@cache.example:6380/1",
		"redis://127.0.0.1:6379/0":                                         "redis://127.0.0.1:6379/0",
		"http://127.0.0.1:8001/api":                                        "http://127.0.0.1:8001/api",
		`primary="postgres://u:secret@db/x"`:                               `primary="postgres://u:***@db/x"`,
		"next=postgres%3A%2F%2Fu%3Asecret%40db%2Fx":                        "next=postgres%3A%2F%2Fu%3A***%40db%2Fx",
		"a postgres://u:s1@a/x and redis://:s2@b/0":                        "a postgres://u:***@a/x and redis://:***@b/0",
		"host=db user=u password=secret dbname=x":                          "host=db user=u password=*** dbname=x",
		"host=db password = secret dbname=x":                               "host=db password = *** dbname=x",
		"host=db password='two words' dbname=x":                            "host=db password=*** dbname=x",
		`host=db password='it\'s secret' dbname=x`:                         "host=db password=*** dbname=x",
		"host=db PASSWORD=secret":                                          "host=db PASSWORD=***",
		"host=db sslpassword=secret pwd=other passwd=third":                "host=db sslpassword=*** pwd=*** passwd=***",
		"host=127.0.0.1%20port=1%20user=x%20password=SECRET123%20dbname=x": "host=127.0.0.1%20port=1%20user=x%20password=***%20dbname=x",
		"host%3Ddb%20password%3Dsecret%20dbname%3Dx":                       "host%3Ddb%20password%3D***%20dbname%3Dx",
		"password=%27two%20words%27%20dbname=x":                            "password=***%20dbname=x",
		`primary="host=db password=secret"`:                                `primary="host=db password=***"`,
		`err="failed: password=secret\n\tnext"`:                            `err="failed: password=***\n\tnext"`,
		"JWT_SECRET=secret CDB_AUTH_CLASS=jwt":                             "JWT_SECRET=*** CDB_AUTH_CLASS=jwt",
		"POSTGRES_PASSWORD_W=secret":                                       "POSTGRES_PASSWORD_W=***",
		"?access_token=secret&x=1":                                         "?access_token=***&x=1",
		"connect: connection refused":                                      "connect: connection refused",
		"Authorization: Bearer abc.def.ghi":                                "Authorization: ***",
		"Authorization: Basic dXNlcjpwYXNz":                                "Authorization: ***",
		"got bearer abc.def.ghi":                                           "got bearer ***",
		"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig":                   "token ***",
		"run eyJ-like text without dots":                                   "run eyJ-like text without dots",
		"a basic check of the password policy":                             "a basic check of the password policy",
		"ünïcödé postgres://ü:ß@h/x":                                       "ünïcödé postgres://ü:***@h/x",
	} {
		if got := Credentials(in); got != want {
			t.Errorf("Credentials(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

func TestValues(t *testing.T) {
	hide := Values("p@ss word/", "", "ab")
	for _, in := range []string{
		"plain p@ss word/ seen",
		"escaped p%40ss+word%2F seen",
		"path p@ss%20word%2F seen",
		"userinfo p%40ss%20word%2F seen",
	} {
		if got := hide(in); strings.Contains(got, "ss") || !strings.Contains(got, Mask) {
			t.Errorf("Values(%q) = %q", in, got)
		}
	}
	if got := hide("ab cd"); got != "ab cd" {
		t.Errorf("short values must not be masked: %q", got)
	}
	if got := hide("postgres://u:other@h/x"); got != "postgres://u:***@h/x" {
		t.Errorf("Values must apply Credentials: %q", got)
	}
}

func TestSecret(t *testing.T) {
	if Secret("") != "" || Secret("x") != Mask {
		t.Error("Secret")
	}
}

func FuzzCredentials(f *testing.F) {
	f.Add("postgres://u:pw@h/x host=h password='a b' %3A%2F%2F@ Bearer x")
	f.Fuzz(func(t *testing.T, s string) {
		_ = Credentials(s) // never panics
	})
}

func TestHandler(t *testing.T) {
	var b strings.Builder
	log := slog.New(Handler(slog.NewTextHandler(&b, nil), Values("jwt-secret-value")))
	log.With("dsn", "postgres://u:pw1@h/x").WithGroup("g").Info("connect postgres://u:pw2@h/x",
		"err", errors.New("host=h password=pw3 dbname=x"), "n", 3,
		"any", struct{ S string }{"jwt-secret-value"}, slog.Group("sub", "url", "redis://:pw4@h:6379/0"))
	out := b.String()
	for _, s := range []string{"pw1", "pw2", "pw3", "pw4", "jwt-secret-value"} {
		if strings.Contains(out, s) {
			t.Errorf("%s shows in %s", s, out)
		}
	}
	if !strings.Contains(out, "g.n=3") {
		t.Errorf("attributes lost: %s", out)
	}
}
