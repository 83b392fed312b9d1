package redact

import "testing"

func TestCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"dial postgres://login:secret@db:5432/x failed":  "dial postgres://***@db:5432/x failed",
		"host=db user=u password=secret dbname=x":        "host=db user=u password=*** dbname=x",
		"connect: connection refused":                    "connect: connection refused",
		"http://127.0.0.1:8001/api":                      "http://127.0.0.1:8001/api",
		"Authorization: Bearer abc.def.ghi":              "Authorization: Bearer ***",
		"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig": "token ***",
		"run eyJ-like text without dots":                 "run eyJ-like text without dots",
	} {
		if got := Credentials(in); got != want {
			t.Errorf("Credentials(%q) = %q, want %q", in, got, want)
		}
	}
}
