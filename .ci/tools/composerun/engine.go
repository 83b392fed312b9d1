package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// The Docker Engine API on its Unix socket ($DOCKER_HOST unix:// or
// /var/run/docker.sock), API version 1.41 (Docker 20.10, Debian 12's).
var engine = func() *http.Client {
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		sock = strings.TrimPrefix(h, "unix://")
	}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}()

func api(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://docker/v1.41"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := engine.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return &apiError{status: res.StatusCode, msg: strings.TrimSpace(string(b))}
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("engine API %d: %s", e.status, e.msg) }

func isStatus(err error, status int) bool {
	ae, ok := err.(*apiError)
	return ok && ae.status == status
}

func projectLabel(p *types.Project) string { return "com.docker.compose.project=" + p.Name }

func containerName(p *types.Project, service string) string { return p.Name + "-" + service + "-1" }

// up creates the network and volumes, then starts every service once all
// its dependencies meet their conditions.
func up(ctx context.Context, p *types.Project, timeout time.Duration) error {
	began := time.Now()
	network := p.Name + "_default"
	err := api(ctx, "POST", "/networks/create", map[string]any{"Name": network, "CheckDuplicate": true,
		"Labels": map[string]string{"com.docker.compose.project": p.Name}}, nil)
	if err != nil && !isStatus(err, 409) {
		return fmt.Errorf("network: %w", err)
	}
	for name, v := range p.Volumes {
		vname := v.Name
		if vname == "" {
			vname = p.Name + "_" + name
		}
		if err := api(ctx, "POST", "/volumes/create", map[string]any{"Name": vname,
			"Labels": map[string]string{"com.docker.compose.project": p.Name}}, nil); err != nil {
			return fmt.Errorf("volume %s: %w", name, err)
		}
	}
	deadline := time.Now().Add(timeout)
	started := map[string]bool{}
	for len(started) < len(p.Services) {
		progress := false
		names := p.ServiceNames()
		sort.Strings(names)
		for _, name := range names {
			s := p.Services[name]
			if started[name] {
				continue
			}
			ready := true
			for dep, c := range s.DependsOn {
				if _, ok := p.Services[dep]; !ok {
					continue // in a profile that is off
				}
				ok, err := condition(ctx, p, dep, c.Condition)
				if err != nil {
					return err
				}
				ready = ready && ok
			}
			if !ready {
				continue
			}
			if err := start(ctx, p, name, s, network); err != nil {
				return fmt.Errorf("service %s: %w", name, err)
			}
			fmt.Printf("composerun: started %s (%s) at +%.1fs\n", name, s.Image, time.Since(began).Seconds())
			started[name], progress = true, true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("services not started within %v: %s", timeout, pendingOf(p, started))
		}
		if !progress {
			time.Sleep(500 * time.Millisecond)
		}
	}
	// Wait until every service with a health check is healthy.
	for {
		var waiting []string
		for _, name := range p.ServiceNames() {
			if s := p.Services[name]; s.HealthCheck != nil && !s.HealthCheck.Disable {
				if ok, err := condition(ctx, p, name, types.ServiceConditionHealthy); err != nil {
					return err
				} else if !ok {
					waiting = append(waiting, name)
				}
			}
		}
		if len(waiting) == 0 {
			fmt.Printf("composerun: %d services up and healthy in %.1fs\n", len(p.Services), time.Since(began).Seconds())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy within %v: %s", timeout, strings.Join(waiting, ", "))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func pendingOf(p *types.Project, started map[string]bool) string {
	var out []string
	for _, n := range p.ServiceNames() {
		if !started[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

type inspect struct {
	State struct {
		Status   string
		ExitCode int
		Health   *struct{ Status string }
	}
}

// condition reports whether service meets a depends_on condition.
func condition(ctx context.Context, p *types.Project, service, cond string) (bool, error) {
	var in inspect
	if err := api(ctx, "GET", "/containers/"+containerName(p, service)+"/json", nil, &in); err != nil {
		if isStatus(err, 404) {
			return false, nil
		}
		return false, err
	}
	switch cond {
	case types.ServiceConditionHealthy:
		if in.State.Status == "exited" || in.State.Status == "dead" {
			return false, fmt.Errorf("%s exited (%d) before it was healthy:\n%s", service, in.State.ExitCode, logsOf(ctx, p, service))
		}
		return in.State.Health != nil && in.State.Health.Status == "healthy", nil
	case types.ServiceConditionCompletedSuccessfully:
		if in.State.Status == "exited" && in.State.ExitCode != 0 {
			return false, fmt.Errorf("%s exited %d", service, in.State.ExitCode)
		}
		return in.State.Status == "exited", nil
	default: // service_started
		return in.State.Status == "running", nil
	}
}

func logsOf(ctx context.Context, p *types.Project, service string) string {
	out, _ := exec.CommandContext(ctx, "docker", "logs", "--tail", "30", containerName(p, service)).CombinedOutput()
	return string(out)
}

func ns(d *types.Duration) int64 {
	if d == nil {
		return 0
	}
	return int64(*d)
}

// start creates and starts one service's container.
func start(ctx context.Context, p *types.Project, name string, s types.ServiceConfig, network string) error {
	if err := api(ctx, "GET", "/images/"+url.PathEscape(s.Image)+"/json", nil, nil); err != nil {
		if !isStatus(err, 404) {
			return err
		}
		if s.Build == nil {
			return fmt.Errorf("image %s is not there (this runner pulls nothing: build it or load it first)", s.Image)
		}
		cmd := exec.CommandContext(ctx, "docker", "build", "-t", s.Image, "-f", s.Build.Dockerfile, s.Build.Context)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", s.Image, err)
		}
	}
	var env []string
	for k, v := range s.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	sort.Strings(env)
	cfg := map[string]any{
		"Image":  s.Image,
		"Env":    env,
		"Labels": map[string]string{"com.docker.compose.project": p.Name, "com.docker.compose.service": name},
	}
	if len(s.Command) > 0 {
		cfg["Cmd"] = []string(s.Command)
	}
	if len(s.Entrypoint) > 0 {
		cfg["Entrypoint"] = []string(s.Entrypoint)
	}
	if s.User != "" {
		cfg["User"] = s.User
	}
	if s.StopSignal != "" {
		cfg["StopSignal"] = s.StopSignal
	}
	if h := s.HealthCheck; h != nil && !h.Disable {
		hc := map[string]any{"Test": []string(h.Test), "Interval": ns(h.Interval), "Timeout": ns(h.Timeout), "StartPeriod": ns(h.StartPeriod)}
		if h.Retries != nil {
			hc["Retries"] = *h.Retries
		}
		cfg["Healthcheck"] = hc
	}
	exposed := map[string]any{}
	bindings := map[string][]map[string]string{}
	for _, port := range s.Ports {
		key := fmt.Sprintf("%d/%s", port.Target, orDefault(port.Protocol, "tcp"))
		exposed[key] = struct{}{}
		bindings[key] = append(bindings[key], map[string]string{"HostIp": port.HostIP, "HostPort": port.Published})
	}
	cfg["ExposedPorts"] = exposed
	var binds []string
	for _, v := range s.Volumes {
		src := v.Source
		if v.Type == types.VolumeTypeVolume {
			if vol, ok := p.Volumes[src]; ok && vol.Name != "" {
				src = vol.Name
			} else {
				src = p.Name + "_" + src
			}
		}
		b := src + ":" + v.Target
		if v.ReadOnly {
			b += ":ro"
		}
		binds = append(binds, b)
	}
	restart := map[string]any{"Name": "no"}
	if s.Restart != "" {
		restart["Name"] = s.Restart
	}
	cfg["HostConfig"] = map[string]any{"Binds": binds, "PortBindings": bindings, "NetworkMode": network, "RestartPolicy": restart}
	cfg["NetworkingConfig"] = map[string]any{"EndpointsConfig": map[string]any{network: map[string]any{"Aliases": []string{name}}}}
	cname := containerName(p, name)
	if err := api(ctx, "POST", "/containers/create?name="+url.QueryEscape(cname), cfg, nil); err != nil {
		return err
	}
	return api(ctx, "POST", "/containers/"+cname+"/start", nil, nil)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// down stops and removes the project's containers (all profiles), its
// network and its volumes.
func down(ctx context.Context, p *types.Project) error {
	var list []struct {
		ID    string
		Names []string
	}
	filters := url.QueryEscape(`{"label":["` + projectLabel(p) + `"]}`)
	if err := api(ctx, "GET", "/containers/json?all=1&filters="+filters, nil, &list); err != nil {
		return err
	}
	for _, c := range list {
		_ = api(ctx, "POST", "/containers/"+c.ID+"/stop?t=20", nil, nil)
		if err := api(ctx, "DELETE", "/containers/"+c.ID+"?v=1&force=1", nil, nil); err != nil && !isStatus(err, 404) {
			return err
		}
	}
	if err := api(ctx, "DELETE", "/networks/"+p.Name+"_default", nil, nil); err != nil && !isStatus(err, 404) {
		return err
	}
	var vols struct{ Volumes []struct{ Name string } }
	if err := api(ctx, "GET", "/volumes?filters="+filters, nil, &vols); err != nil {
		return err
	}
	for _, v := range vols.Volumes {
		if err := api(ctx, "DELETE", "/volumes/"+v.Name, nil, nil); err != nil && !isStatus(err, 404) {
			return err
		}
	}
	fmt.Printf("composerun: removed %d containers, the network and %d volumes\n", len(list), len(vols.Volumes))
	return nil
}
