package localsprites

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

const testToken = "acme/test/secret"

// testServer is a localsprites server on a loopback port plus a raw
// HTTP/WebSocket client for it.
type testServer struct {
	t   testing.TB
	srv *Server
	cfg Config
}

// start runs a server on a fresh state directory (or cfg.StateDir when set)
// and stops it when the test ends.
func start(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Sandbox == SandboxAuto {
		cfg.Sandbox = SandboxPlain
	}
	srv, err := Start(cfg, "")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &testServer{t: t, srv: srv, cfg: cfg}
}

// sandboxes lists the modes to run exec tests in; bwrap is skipped when
// it is not installed.
var sandboxes = []SandboxMode{SandboxPlain, SandboxBwrap}

func forEachSandbox(t *testing.T, fn func(t *testing.T, mode SandboxMode)) {
	for _, mode := range sandboxes {
		t.Run(string(mode), func(t *testing.T) {
			if mode == SandboxBwrap {
				if _, err := exec.LookPath("bwrap"); err != nil {
					t.Skip("bubblewrap is not installed")
				}
			}
			fn(t, mode)
		})
	}
}

func (ts *testServer) url(path string, q url.Values) string {
	u := ts.srv.URL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends a request with the token; body may be nil, []byte or a value
// sent as JSON.
func (ts *testServer) do(method, path string, q url.Values, body any) *http.Response {
	ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ts.url(path, q), r)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.cfg.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	ts.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// call sends a request, checks the status and decodes a JSON answer into
// out (when non-nil).
func (ts *testServer) call(method, path string, q url.Values, body any, want int, out any) {
	ts.t.Helper()
	resp := ts.do(method, path, q, body)
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		ts.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			ts.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

func (ts *testServer) create(name string) sprites.Sprite {
	ts.t.Helper()
	var sp sprites.Sprite
	ts.call("POST", "/v1/sprites", nil, sprites.CreateRequest{Name: name}, http.StatusCreated, &sp)
	return sp
}

// stream reads an NDJSON answer with the shared reader and returns every
// event and the reader's verdict.
func (ts *testServer) stream(method, path string, q url.Values, body any) ([]sprites.StreamEvent, error) {
	ts.t.Helper()
	resp := ts.do(method, path, q, body)
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		ts.t.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, raw)
	}
	var events []sprites.StreamEvent
	_, err := sprites.ReadStream(path, resp.Body, func(ev sprites.StreamEvent) error {
		events = append(events, ev)
		return nil
	})
	return events, err
}

func (ts *testServer) writeFile(sprite, path, content string) {
	ts.t.Helper()
	ts.call("PUT", "/v1/sprites/"+sprite+"/fs/write", url.Values{"path": {path}}, content, http.StatusOK, nil)
}

func (ts *testServer) readFile(sprite, path string) (string, int) {
	ts.t.Helper()
	resp := ts.do("GET", "/v1/sprites/"+sprite+"/fs/read", url.Values{"path": {path}}, nil)
	raw, _ := io.ReadAll(resp.Body)
	return string(raw), resp.StatusCode
}

// execResult is what a client saw of one exec.
type execResult struct {
	sessionID int64
	stdout    string
	stderr    string
	exitCode  int  // -1 without an exit frame
	exited    bool // the exit frame arrived
}

// dial opens an exec WebSocket (a new command, or an attach when path
// names a session).
func (ts *testServer) dial(ctx context.Context, path string, q url.Values) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(ts.url(path, q), "http")
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + ts.cfg.Token}},
	})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(16 << 20)
	return c, nil
}

func execQuery(args []string, extra ...string) url.Values {
	q := url.Values{"cmd": args, "path": {args[0]}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Add(extra[i], extra[i+1])
	}
	return q
}

// readSession reads frames until the exit frame, the socket's end, or
// stop returns true after a frame.
func readSession(ctx context.Context, t testing.TB, c *websocket.Conn, stop func(execResult) bool) execResult {
	t.Helper()
	res := execResult{exitCode: -1}
	var stdout, stderr strings.Builder
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			break
		}
		if typ == websocket.MessageText {
			m, err := sprites.DecodeControl(msg)
			if err != nil {
				t.Fatalf("bad text message %q: %v", msg, err)
			}
			if m.Type == "session_info" {
				res.sessionID = m.SessionID
			}
			continue
		}
		stream, payload, err := sprites.DecodeFrame(msg)
		if err != nil {
			continue
		}
		switch stream {
		case sprites.StreamStdout:
			stdout.WriteString(string(payload))
		case sprites.StreamStderr:
			stderr.WriteString(string(payload))
		case sprites.StreamExit:
			res.exitCode = sprites.ExitCodeOf(payload)
			res.exited = true
		}
		res.stdout, res.stderr = stdout.String(), stderr.String()
		if res.exited || (stop != nil && stop(res)) {
			break
		}
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	return res
}

// execWS runs a command over the WebSocket to its exit frame.
func (ts *testServer) execWS(sprite string, args ...string) execResult {
	ts.t.Helper()
	return ts.execWSQ(sprite, execQuery(args))
}

func (ts *testServer) execWSQ(sprite string, q url.Values) execResult {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/"+sprite+"/exec", q)
	if err != nil {
		ts.t.Fatalf("exec %v: %v", q["cmd"], err)
	}
	defer c.CloseNow()
	_ = c.Write(ctx, websocket.MessageBinary, []byte{sprites.StreamStdinEOF})
	res := readSession(ctx, ts.t, c, nil)
	if !res.exited {
		ts.t.Fatalf("exec %v: no exit frame (stdout %q, stderr %q)", q["cmd"], res.stdout, res.stderr)
	}
	return res
}

// sh runs a shell command and fails the test on a non-zero exit.
func (ts *testServer) sh(sprite, script string) string {
	ts.t.Helper()
	res := ts.execWS(sprite, "sh", "-c", script)
	if res.exitCode != 0 {
		ts.t.Fatalf("sh %q: exit %d, stderr %q", script, res.exitCode, res.stderr)
	}
	return res.stdout
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
