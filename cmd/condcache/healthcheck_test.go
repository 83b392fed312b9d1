package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	noEnv := func(string) (string, bool) { return "", false }
	var errs bytes.Buffer
	old := stderr
	stderr = &errs
	t.Cleanup(func() { stderr = old })
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"-url", ok.URL}, 0},
		{[]string{"-url", down.URL + "," + ok.URL}, 0},
		{[]string{"-url", down.URL}, 1},
		{[]string{"-url", "http://127.0.0.1:1/healthz", "-timeout", "200ms"}, 1},
		{[]string{"-url", "ftp://x"}, 2},
		{[]string{"-timeout", "soon"}, 2},
	} {
		errs.Reset()
		if got := runHealthcheck(t.Context(), tc.args, noEnv); got != tc.want {
			t.Errorf("healthcheck %v = %d, want %d (%s)", tc.args, got, tc.want, errs.String())
		}
	}
}
