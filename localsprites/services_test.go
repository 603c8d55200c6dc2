package localsprites

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proxyGet fetches path through the sprite's URL; token may be empty.
func (ts *testServer) proxyGet(t *testing.T, rawURL, host, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func TestServices_RunProxyStopAndConflicts(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is needed for a test web server")
	}
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		sp := ts.create("svc")
		ts.writeFile("svc", "www/index.html", "hello from the sprite")
		port := freeTestPort(t)
		def := sprites.Service{Cmd: "python3", Args: []string{"-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port)}, HTTPPort: &port, Dir: "/home/sprite/www"}

		resp := ts.do("PUT", "/v1/sprites/svc/services/web", url.Values{"duration": {"300ms"}}, def)
		raw, _ := io.ReadAll(resp.Body)
		lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
		var first, last map[string]any
		_ = json.Unmarshal(lines[0], &first)
		_ = json.Unmarshal(lines[len(lines)-1], &last)
		if resp.StatusCode != 200 || first["type"] != "started" || last["type"] != "complete" || last["log_files"] == nil {
			t.Fatalf("put service: %d %s", resp.StatusCode, raw)
		}

		// The sprite URL reaches the service, with the token unless public.
		if code, body := ts.proxyGet(t, sp.URL+"index.html", "", testToken); code != 200 || body != "hello from the sprite" {
			t.Fatalf("proxy: %d %q", code, body)
		}
		if code, _ := ts.proxyGet(t, sp.URL+"index.html", "", ""); code != http.StatusUnauthorized {
			t.Fatalf("proxy without token: %d", code)
		}
		ts.call("PUT", "/v1/sprites/svc", nil, sprites.UpdateRequest{URLSettings: &sprites.URLSettings{Auth: sprites.AuthPublic}}, http.StatusOK, nil)
		if code, _ := ts.proxyGet(t, sp.URL+"index.html", "", ""); code != 200 {
			t.Fatalf("public proxy without token: %d", code)
		}
		if code, body := ts.proxyGet(t, ts.srv.URL()+"/index.html", "svc.localhost", ""); code != 200 || body != "hello from the sprite" {
			t.Fatalf("host-based proxy: %d %q", code, body)
		}

		var list []sprites.ServiceWithState
		ts.call("GET", "/v1/sprites/svc/services", nil, nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].State.Status != "running" || list[0].State.PID == 0 || *list[0].HTTPPort != port {
			t.Fatalf("services %+v", list)
		}
		other := port + 1
		ts.call("PUT", "/v1/sprites/svc/services/api", nil, sprites.Service{Cmd: "sleep", Args: []string{"1"}, HTTPPort: &other}, http.StatusConflict, nil)

		events, err := ts.stream("POST", "/v1/sprites/svc/services/web/stop", url.Values{"timeout": {"2s"}}, nil)
		if err != nil || events[0].Type != "stopping" {
			t.Fatalf("stop: %v %+v", err, events)
		}
		var got sprites.ServiceWithState
		ts.call("GET", "/v1/sprites/svc/services/web", nil, nil, http.StatusOK, &got)
		if got.State.Status == "running" {
			t.Fatalf("after stop: %+v", got.State)
		}
		ts.call("POST", "/v1/sprites/svc/services/web/stop", nil, nil, http.StatusConflict, nil)
		// A request to the URL starts the http_port service again.
		if code, _ := ts.proxyGet(t, sp.URL+"index.html", "", ""); code != 200 {
			t.Fatalf("proxy after stop: %d", code)
		}
		ts.call("DELETE", "/v1/sprites/svc/services/web", nil, nil, http.StatusNoContent, nil)
		ts.call("GET", "/v1/sprites/svc/services/web", nil, nil, http.StatusNotFound, nil)
	})
}

func TestServices_CrashingCommandReportsExit(t *testing.T) {
	ts := start(t, Config{})
	ts.create("crash")
	events, err := ts.stream("PUT", "/v1/sprites/crash/services/bad", url.Values{"duration": {"5s"}}, sprites.Service{Cmd: "sh", Args: []string{"-c", "echo dying; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	var sawOut, sawExit bool
	for _, ev := range events {
		sawOut = sawOut || (ev.Type == "stdout" && ev.Data == "dying\n")
		sawExit = sawExit || (ev.Type == "exit" && ev.ExitCode != nil && *ev.ExitCode == 3)
	}
	if !sawOut || !sawExit {
		t.Fatalf("events %+v", events)
	}
	var got sprites.ServiceWithState
	ts.call("GET", "/v1/sprites/crash/services/bad", nil, nil, http.StatusOK, &got)
	if got.State.Status != "failed" {
		t.Fatalf("state %+v", got.State)
	}
}

func TestPolicy_StoredAndEchoed(t *testing.T) {
	for _, quirk := range []bool{false, true} {
		ts := start(t, Config{Quirks: Quirks{PolicyPostNoContent: quirk}})
		ts.create("pol")
		var p sprites.NetworkPolicy
		ts.call("GET", "/v1/sprites/pol/policy/network", nil, nil, http.StatusOK, &p)
		if p.Rules == nil || len(p.Rules) != 0 {
			t.Fatalf("default policy %+v", p)
		}
		want := sprites.NetworkPolicy{Rules: []sprites.PolicyRule{{Include: "defaults"}, {Domain: "*.example.com", Action: "allow"}}}
		status := http.StatusOK
		if quirk {
			status = http.StatusNoContent
		}
		ts.call("POST", "/v1/sprites/pol/policy/network", nil, want, status, nil)
		ts.call("GET", "/v1/sprites/pol/policy/network", nil, nil, http.StatusOK, &p)
		if len(p.Rules) != 2 || p.Rules[1] != want.Rules[1] {
			t.Fatalf("stored %+v", p)
		}
		ts.call("POST", "/v1/sprites/pol/policy/network", nil, sprites.NetworkPolicy{Rules: []sprites.PolicyRule{{Domain: "x", Action: "maybe"}}}, http.StatusBadRequest, nil)
	}
}

// TestServices_LongEventStreamDoesNotBlockDelete asks for an hour of a
// service's events and deletes the sprite while the stream is open.
func TestServices_LongEventStreamDoesNotBlockDelete(t *testing.T) {
	ts := start(t, Config{})
	ts.create("svcdel")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	body, _ := json.Marshal(sprites.Service{Cmd: "sleep", Args: []string{"1000"}})
	req, err := http.NewRequestWithContext(ctx, "PUT", ts.url("/v1/sprites/svcdel/services/long", url.Values{"duration": {"1h"}}), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Wait for the started event: the service runs and the stream is open.
	var ev sprites.StreamEvent
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil || ev.Type != "started" {
		t.Fatalf("first event %+v, %v", ev, err)
	}

	delCtx, delCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer delCancel()
	del, err := http.NewRequestWithContext(delCtx, "DELETE", ts.url("/v1/sprites/svcdel", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Header.Set("Authorization", "Bearer "+testToken)
	dresp, err := http.DefaultClient.Do(del)
	if err != nil {
		t.Fatalf("delete while a service stream is open: %v", err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete answered %d", dresp.StatusCode)
	}
}
