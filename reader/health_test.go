package reader

import (
	"errors"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	r := newTestReader(t, &fakeService{readyErr: errors.New("down")}, Config{})
	if a := r.get("/healthz"); a.status != 200 || a.body != `{"status":"ok"}` {
		t.Errorf("healthz = %d %s (it must not depend on the database)", a.status, a.body)
	}
}

func TestReadyz(t *testing.T) {
	svc := &fakeService{}
	r := newTestReader(t, svc, Config{})
	if a := r.get("/readyz"); a.status != 200 || a.body != `{"status":"ready"}` {
		t.Errorf("readyz = %d %s", a.status, a.body)
	}

	svc.mu.Lock()
	svc.readyErr = errors.New("no backend: dial postgres://login:hunter2@db:5432/x: connection refused")
	svc.mu.Unlock()
	a := r.get("/readyz")
	detail, code := a.detail(t)
	if a.status != 503 || code != "unavailable" || !strings.Contains(detail, "connection refused") {
		t.Errorf("readyz = %d %s", a.status, a.body)
	}
	if strings.Contains(a.body+r.logs.String(), "hunter2") {
		t.Error("a password leaked through readyz")
	}

	svc.mu.Lock()
	svc.readyErr = nil
	svc.mu.Unlock()
	r.srv.stopOnce.Do(func() { close(r.srv.stopping) }) // a shutdown has started
	if a := r.get("/readyz"); a.status != 503 || !strings.Contains(a.body, "shutting down") {
		t.Errorf("readyz while shutting down = %d %s", a.status, a.body)
	}
}
