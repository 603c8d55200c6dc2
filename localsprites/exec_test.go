package localsprites

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestExec_RunsRealProcessWithOutputAndExitCode(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		if ts.srv.SandboxName() != string(mode) {
			t.Fatalf("sandbox %q, want %q", ts.srv.SandboxName(), mode)
		}
		ts.create("ex")
		res := ts.execWS("ex", "sh", "-c", `echo out; echo err >&2; echo "$HOME"; pwd; exit 7`)
		if res.exitCode != 7 || res.stderr != "err\n" {
			t.Fatalf("exit %d stderr %q", res.exitCode, res.stderr)
		}
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		home := spriteHome
		if mode == SandboxPlain {
			home = filepath.Join(ts.cfg.StateDir, "sprites", "ex", "home")
		}
		if len(lines) != 3 || lines[0] != "out" || lines[1] != home || lines[2] != home {
			t.Fatalf("stdout %q, want out, %s, %s", res.stdout, home, home)
		}
		if res.sessionID <= 0 {
			t.Fatalf("session id %d", res.sessionID)
		}
		// The process really ran in the sprite's home.
		ts.sh("ex", "echo made-by-exec > made.txt")
		if got, _ := ts.readFile("ex", "/home/sprite/made.txt"); got != "made-by-exec\n" {
			t.Fatalf("file written by exec reads %q", got)
		}
		// A missing command fails like a shell would.
		if res := ts.execWS("ex", "no-such-command-xyz"); res.exitCode != 127 {
			t.Fatalf("missing command: exit %d", res.exitCode)
		}
	})
}

func TestExec_BwrapIsolatesTheSprite(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		if mode != SandboxBwrap {
			t.Skip("isolation only exists with bubblewrap")
		}
		ts := start(t, Config{Sandbox: mode})
		ts.create("iso")
		// The system is read-only, /tmp is private, the PID namespace is the
		// sprite's own, and the state directory is hidden.
		res := ts.execWS("iso", "sh", "-c", `touch /etc/localsprites-probe 2>/dev/null && echo wrote-etc; echo tmp > /tmp/x && cat /tmp/x; ls /proc | grep -c '^[0-9]' ; ls `+ts.cfg.StateDir+` 2>/dev/null | wc -l`)
		if res.exitCode != 0 {
			t.Fatalf("exit %d: %s", res.exitCode, res.stderr)
		}
		fields := strings.Fields(res.stdout)
		if len(fields) != 3 || fields[0] != "tmp" {
			t.Fatalf("stdout %q", res.stdout)
		}
		if n, _ := strconv.Atoi(fields[1]); n > 10 {
			t.Fatalf("sees %d processes: not in its own PID namespace", n)
		}
		if _, err := os.Stat("/etc/localsprites-probe"); err == nil {
			t.Fatal("the sprite wrote to the host's /etc")
		}
		// /tmp is the sprite's, shared between its execs like a VM's.
		if out := ts.sh("iso", "cat /tmp/x"); out != "tmp\n" {
			t.Fatalf("second exec sees /tmp/x as %q", out)
		}
		if _, err := os.Stat("/tmp/x"); err == nil {
			if raw, _ := os.ReadFile("/tmp/x"); string(raw) == "tmp\n" {
				t.Fatal("the sprite's /tmp is the host's")
			}
		}
	})
}

func TestExec_StdinEnvAndDir(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		ts.create("io")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := ts.dial(ctx, "/v1/sprites/io/exec", execQuery([]string{"sh", "-c", "tr a-z A-Z"}, "stdin", "true"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for _, part := range []string{"hello ", "world"} {
			if err := c.Write(ctx, websocket.MessageBinary, sprites.EncodeFrame(sprites.StreamStdin, []byte(part))); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.Write(ctx, websocket.MessageBinary, []byte{sprites.StreamStdinEOF})
		if res := readSession(ctx, t, c, nil); res.stdout != "HELLO WORLD" || res.exitCode != 0 {
			t.Fatalf("stdin echo: %+v", res)
		}

		// env replaces the default environment.
		res := ts.execWSQ("io", execQuery([]string{"sh", "-c", `echo "$FOO|$HOME"`}, "env", "FOO=bar"))
		if res.stdout != "bar|\n" {
			t.Fatalf("env: %q", res.stdout)
		}
		ts.writeFile("io", "sub/dir/f", "x")
		res = ts.execWSQ("io", execQuery([]string{"sh", "-c", "ls; echo $PORT"}, "dir", "/home/sprite/sub"))
		if !strings.HasPrefix(res.stdout, "dir\n") {
			t.Fatalf("dir: %q", res.stdout)
		}
		// A missing working directory is refused before anything runs.
		resp := ts.do("POST", "/v1/sprites/io/exec", execQuery([]string{"true"}, "dir", "/home/sprite/nope"), nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad dir: %d", resp.StatusCode)
		}
	})
}

func TestExec_HTTPPostStreamsFramesAsChunks(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		ts.create("hx")
		resp := ts.do("POST", "/v1/sprites/hx/exec", execQuery([]string{"sh", "-c", "cat; echo e >&2; exit 3"}, "stdin", "true"), "from-body")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 2 || raw[len(raw)-2] != sprites.StreamExit || raw[len(raw)-1] != 3 {
			t.Fatalf("body does not end with the exit frame: %q", raw)
		}
		if !bytes.Contains(raw, append([]byte{sprites.StreamStdout}, "from-body"...)) || !bytes.Contains(raw, []byte{sprites.StreamStderr, 'e', '\n'}) {
			t.Fatalf("body %q", raw)
		}
	})
}

// dropAfter starts a command, reads until want appears in stdout, and drops
// the socket without a close handshake. It returns the session ID.
func (ts *testServer) dropAfter(sprite, script, want string, extra ...string) int64 {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/"+sprite+"/exec", execQuery([]string{"sh", "-c", script}, extra...))
	if err != nil {
		ts.t.Fatal(err)
	}
	res := readSession(ctx, ts.t, c, func(r execResult) bool { return strings.Contains(r.stdout, want) })
	c.CloseNow()
	if res.exited || res.sessionID == 0 {
		ts.t.Fatalf("session %d ended early: %+v", res.sessionID, res)
	}
	return res.sessionID
}

func TestExec_AttachAfterDisconnectReplaysOutput(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		ts.create("att")
		ts.writeFile("att", "go", "") // the command waits for this file to go away
		id := ts.dropAfter("att", `echo first; while [ -e go ]; do sleep 0.05; done; echo second; echo oops >&2; exit 4`, "first")

		var list sprites.SessionList
		ts.call("GET", "/v1/sprites/att/exec", nil, nil, http.StatusOK, &list)
		if len(list.Sessions) != 1 || list.Sessions[0].ID != id {
			t.Fatalf("sessions %+v, want %d", list.Sessions, id)
		}
		eventually(t, 5*time.Second, "the session to show as detached", func() bool {
			ts.call("GET", "/v1/sprites/att/exec", nil, nil, http.StatusOK, &list)
			return len(list.Sessions) == 1 && !list.Sessions[0].IsActive
		})

		ts.call("DELETE", "/v1/sprites/att/fs/delete", url.Values{"path": {"go"}}, nil, http.StatusOK, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := ts.dial(ctx, "/v1/sprites/att/exec/"+strconv.FormatInt(id, 10), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		res := readSession(ctx, t, c, nil)
		if res.sessionID != id || res.stdout != "first\nsecond\n" || res.stderr != "oops\n" || res.exitCode != 4 {
			t.Fatalf("attach: %+v", res)
		}
		// A finished session stays attachable for its exit code, through the
		// legacy ?id= form too.
		c2, err := ts.dial(ctx, "/v1/sprites/att/exec", url.Values{"id": {strconv.FormatInt(id, 10)}})
		if err != nil {
			t.Fatal(err)
		}
		defer c2.CloseNow()
		if res := readSession(ctx, t, c2, nil); res.exitCode != 4 || res.stdout != "first\nsecond\n" {
			t.Fatalf("second attach: %+v", res)
		}
		if _, err := ts.dial(ctx, "/v1/sprites/att/exec/999999999", nil); err == nil {
			t.Fatal("attach to an unknown session succeeded")
		}
	})
}

func TestExec_SessionKilledAfterMaxRunAfterDisconnect(t *testing.T) {
	ts := start(t, Config{})
	ts.create("mr")
	id := ts.dropAfter("mr", "echo up; exec sleep 60", "up", "max_run_after_disconnect", "300ms")
	eventually(t, 10*time.Second, "the abandoned session to be killed", func() bool {
		return syscall.Kill(int(id), 0) != nil
	})
	var list sprites.SessionList
	ts.call("GET", "/v1/sprites/mr/exec", nil, nil, http.StatusOK, &list)
	if len(list.Sessions) != 0 {
		t.Fatalf("sessions %+v", list.Sessions)
	}
}

func TestExec_KillStreamsEventsThen410(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		ts.create("kl")
		for _, tc := range []struct {
			name   string
			q      url.Values
			body   any
			signal string
			code   int
			events []string
		}{
			{"query TERM", url.Values{"signal": {"TERM"}, "timeout": {"0s"}}, nil, "SIGTERM", 128 + 15, []string{"signal", "exited", "complete"}},
			{"json SIGINT", nil, sprites.KillRequest{Signal: "SIGINT", Timeout: 10}, "SIGINT", 128 + 2, []string{"signal", "exited", "complete"}},
			{"ignored TERM escalates", url.Values{"timeout": {"300ms"}}, nil, "SIGTERM", 128 + 9, []string{"signal", "timeout", "killed", "complete"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				script := "echo up; exec sleep 60"
				if tc.code == 128+9 {
					script = `trap "" TERM; echo up; while :; do sleep 0.05; done`
				}
				id := ts.dropAfter("kl", script, "up", "max_run_after_disconnect", "0")
				path := "/v1/sprites/kl/exec/" + strconv.FormatInt(id, 10) + "/kill"
				events, err := ts.stream("POST", path, tc.q, tc.body)
				if err != nil {
					t.Fatal(err)
				}
				var types []string
				for _, ev := range events {
					types = append(types, ev.Type)
				}
				if strings.Join(types, ",") != strings.Join(tc.events, ",") {
					t.Fatalf("events %v, want %v", types, tc.events)
				}
				if events[0].Signal != tc.signal || events[0].PID != int(id) {
					t.Fatalf("signal event %+v", events[0])
				}
				if last := events[len(events)-1]; last.ExitCode == nil || *last.ExitCode != tc.code {
					t.Fatalf("complete %+v, want exit %d", last, tc.code)
				}
				var body sprites.ErrorBody
				ts.call("POST", path, nil, nil, http.StatusGone, &body)
			})
		}
		ts.call("POST", "/v1/sprites/kl/exec/12345678/kill", nil, nil, http.StatusNotFound, nil)
	})
}

func TestExec_SignalMessageOnSocket(t *testing.T) {
	ts := start(t, Config{})
	ts.create("sg")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/sg/exec", execQuery([]string{"sh", "-c", "echo up; exec sleep 60"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readSession(ctx, t, c, func(r execResult) bool { return r.stdout == "up\n" })
	raw, _ := json.Marshal(sprites.ControlMessage{Type: "signal", Signal: "TERM"})
	if err := c.Write(ctx, websocket.MessageText, raw); err != nil {
		t.Fatal(err)
	}
	if res := readSession(ctx, t, c, nil); res.exitCode != 128+15 {
		t.Fatalf("after TERM: %+v", res)
	}
}

func TestExec_HoldQuirkKeepsSocketOpenAfterExitFrame(t *testing.T) {
	ts := start(t, Config{Quirks: Quirks{ExecHoldAfterExit: time.Minute}})
	ts.create("hold")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/hold/exec", execQuery([]string{"true"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if res := readSession(ctx, t, c, nil); !res.exited {
		t.Fatal("no exit frame")
	}
	// The server holds the socket: a read waits rather than seeing a close.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, _, err := c.Read(short); short.Err() == nil {
		t.Fatalf("socket ended during the hold: %v", err)
	}
}

// TestExec_HTTPPostKeepsStdinFlowingAfterOutput feeds stdin in two parts
// and sends the second only after output has arrived: an HTTP/1 server
// that is not full duplex throws the unread request body away as soon as
// the first frame is flushed, and the command then sees a cut stdin.
func TestExec_HTTPPostKeepsStdinFlowingAfterOutput(t *testing.T) {
	ts := start(t, Config{})
	ts.create("dx")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bodyR, bodyW := io.Pipe()
	// The transport waits for its body writer before it reports a failed
	// round trip; closing the body on timeout keeps a failure from hanging.
	stopBody := context.AfterFunc(ctx, func() { bodyW.CloseWithError(ctx.Err()) })
	defer stopBody()
	q := execQuery([]string{"sh", "-c", "echo started; cat"}, "stdin", "true")
	req, err := http.NewRequestWithContext(ctx, "POST", ts.url("/v1/sprites/dx/exec", q), bodyR)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.cfg.Token)
	go func() { _, _ = io.WriteString(bodyW, "first\n") }()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	defer resp.Body.Close()
	// Wait for the first output frame: from here on the response is being
	// written while the request body is still open.
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("started\n")) {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("answer ended before the first output (%v): %q", err, got)
		}
	}
	_, _ = io.WriteString(bodyW, "second\n")
	bodyW.Close()
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	got = append(got, rest...)
	if len(got) < 2 || got[len(got)-2] != sprites.StreamExit || got[len(got)-1] != 0 {
		t.Fatalf("answer does not end with exit 0: %q", got)
	}
	// The output is text, so dropping the stream bytes leaves stdout.
	stdout := bytes.ReplaceAll(got[:len(got)-2], []byte{sprites.StreamStdout}, nil)
	if want := "started\nfirst\nsecond\n"; string(stdout) != want {
		t.Fatalf("stdout %q, want %q: stdin was cut once output flowed", stdout, want)
	}
}

// TestExec_WorkingDirCannotLeaveTheSandbox plants an absolute symlink to a
// host directory in the sprite and runs a command there. The directory is
// resolved from outside the sandbox, where an absolute link means the
// host's root: the command must not start in the host's directory.
func TestExec_WorkingDirCannotLeaveTheSandbox(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap is not installed")
	}
	ts := start(t, Config{Sandbox: SandboxBwrap})
	ts.create("wd")
	host := t.TempDir() // under /tmp, which the sandbox replaces with its own
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte("host-only"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.sh("wd", "ln -s "+host+" esc && mkdir -p real && ln -s real rel")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/wd/exec", execQuery([]string{"sh", "-c", "pwd; cat secret; echo x > planted"}, "dir", "/home/sprite/esc"))
	if err == nil {
		_ = c.Write(ctx, websocket.MessageBinary, []byte{sprites.StreamStdinEOF})
		res := readSession(ctx, t, c, nil)
		c.CloseNow()
		if strings.Contains(res.stdout, "host-only") {
			t.Fatalf("the command ran in the host's %s: stdout %q", host, res.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "planted")); err == nil {
		t.Fatal("the command wrote into the host directory")
	}
	// A relative link that stays inside still works as a working directory.
	res := ts.execWSQ("wd", execQuery([]string{"pwd"}, "dir", "/home/sprite/rel"))
	if res.exitCode != 0 || res.stdout != "/home/sprite/real\n" && res.stdout != "/home/sprite/rel\n" {
		t.Fatalf("dir through an inside link: exit %d, stdout %q, stderr %q", res.exitCode, res.stdout, res.stderr)
	}
}

// TestExec_LeavesNoDescriptorOnTheHome runs commands in the sandbox and
// then looks for descriptors of this process still open on the sprite's
// files: each exec hands nsenter its working directory as a descriptor.
func TestExec_LeavesNoDescriptorOnTheHome(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap is not installed")
	}
	ts := start(t, Config{Sandbox: SandboxBwrap})
	ts.create("fd")
	for range 5 {
		ts.sh("fd", "true")
	}
	// Through the sandbox the descriptor's path reads /home/sprite; the
	// inode tells it is the sprite's home.
	home, err := os.Stat(filepath.Join(ts.cfg.StateDir, "sprites", "fd", "home"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if st, err := os.Stat("/proc/self/fd/" + e.Name()); err == nil && os.SameFile(st, home) {
			t.Errorf("descriptor %s is still open on the sprite's home", e.Name())
		}
	}
}
