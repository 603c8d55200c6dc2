package spritestest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func testExec(t *testing.T, s *suite) {
	c := s.Client
	name := s.newSprite(t, "exec")

	t.Run("RunSplitsStdoutAndStderrAndReportsExitCode", func(t *testing.T) {
		cmd := c.Command(name, "/bin/sh", "-c", "echo out; echo err >&2; exit 7")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		var announced []int64
		cmd.OnSession = func(id int64) { announced = append(announced, id) }
		err := cmd.Run(s.ctx)
		var exitErr *sprites.ExitError
		if !errors.As(err, &exitErr) || exitErr.Code != 7 || cmd.ExitCode() != 7 {
			t.Fatalf("Run = %v (exit code %d), want *ExitError with code 7", err, cmd.ExitCode())
		}
		if stdout.String() != "out\n" || stderr.String() != "err\n" {
			t.Errorf("stdout %q stderr %q, want %q and %q", stdout.String(), stderr.String(), "out\n", "err\n")
		}
		if len(announced) != 1 || announced[0] <= 0 || announced[0] != cmd.SessionID {
			t.Errorf("OnSession saw %v, SessionID %d; want one positive ID equal to SessionID", announced, cmd.SessionID)
		}
	})

	t.Run("RunSucceedsWhenExitCodeIsZero", func(t *testing.T) {
		cmd := c.Command(name, "true")
		if err := cmd.Run(s.ctx); err != nil || cmd.ExitCode() != 0 {
			t.Errorf("Run(true) = %v, exit code %d; want nil and 0", err, cmd.ExitCode())
		}
	})

	t.Run("RunFeedsStdin", func(t *testing.T) {
		// Larger than one stdin frame, so chunking is exercised.
		in := strings.Repeat("0123456789abcdef\n", 4096)
		cmd := c.Command(name, "cat")
		cmd.Stdin = strings.NewReader(in)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Run(s.ctx); err != nil {
			t.Fatalf("Run(cat): %v", err)
		}
		if stdout.String() != in {
			t.Errorf("cat echoed %d bytes, want the %d sent", stdout.Len(), len(in))
		}
	})

	t.Run("RunReplacesEnvironmentWhenEnvGiven", func(t *testing.T) {
		out := s.output(t, name, nil, "/bin/sh", "-c", `echo "home=$HOME"`)
		if out == "home=\n" {
			t.Errorf("default environment has no HOME")
		}
		cmd := c.Command(name, "/bin/sh", "-c", `echo "suite=$SUITE_VAR home=$HOME"`)
		cmd.Env = []string{"SUITE_VAR=42"}
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Run(s.ctx); err != nil {
			t.Fatalf("Run with Env: %v", err)
		}
		if got := stdout.String(); got != "suite=42 home=\n" {
			t.Errorf("with Env [SUITE_VAR=42]: %q, want %q (the given environment replaces the default)", got, "suite=42 home=\n")
		}
	})

	t.Run("RunUsesDir", func(t *testing.T) {
		s.writeFile(t, name, "work/sub/marker.txt", "here")
		cmd := c.Command(name, "cat", "marker.txt")
		cmd.Dir = sprites.HomeDir + "/work/sub"
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Run(s.ctx); err != nil {
			t.Fatalf("Run(cat marker.txt) in %s: %v", cmd.Dir, err)
		}
		if stdout.String() != "here" {
			t.Errorf("cat marker.txt in %s = %q, want %q", cmd.Dir, stdout.String(), "here")
		}
	})

	t.Run("RunIsNotFoundWhenSpriteMissing", func(t *testing.T) {
		err := c.Command(s.name("exec-missing"), "true").Run(s.ctx)
		if !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("Run in a missing sprite = %v, want ErrNotFound", err)
		}
	})

	t.Run("AttachReplaysOutputAfterDroppedSocket", func(t *testing.T) {
		// The command waits for a file, so it is still running when the
		// client re-attaches; the attaching side creates the file.
		cmd := c.Command(name, "/bin/sh", "-c",
			`echo before; while [ ! -e attach-release ]; do sleep 0.05; done; echo after >&2; exit 3`)
		cmd.MaxRunAfterDisconnect = time.Minute
		dropCtx, drop := context.WithCancel(s.ctx)
		defer drop()
		cmd.Stdout = &notifyWriter{needle: "before", found: drop}
		err := cmd.Run(dropCtx)
		var lost *sprites.ConnectionLostError
		if !errors.As(err, &lost) {
			t.Fatalf("Run with a dropped socket = %v, want *ConnectionLostError", err)
		}
		id := lost.SessionID
		if id <= 0 || id != cmd.SessionID {
			t.Fatalf("ConnectionLostError.SessionID = %d, Cmd.SessionID = %d; want the same positive ID", id, cmd.SessionID)
		}
		if !slices.ContainsFunc(s.sessions(t, name), func(e sprites.ExecSession) bool { return e.ID == id }) {
			t.Errorf("session %d is not listed after its socket dropped", id)
		}

		att := c.Attach(name, id)
		var stdout, stderr bytes.Buffer
		att.Stdout, att.Stderr = &stdout, &stderr
		var releaseErr error
		att.OnSession = func(int64) {
			_, releaseErr = c.WriteFile(s.ctx, name, "attach-release", nil, 0)
		}
		err = att.Run(s.ctx)
		if releaseErr != nil {
			t.Fatalf("writing the release file: %v", releaseErr)
		}
		var exitErr *sprites.ExitError
		if !errors.As(err, &exitErr) || exitErr.Code != 3 {
			t.Fatalf("attached Run = %v, want *ExitError with code 3", err)
		}
		if stdout.String() != "before\n" || stderr.String() != "after\n" {
			t.Errorf("attach got stdout %q stderr %q, want the replayed %q and %q", stdout.String(), stderr.String(), "before\n", "after\n")
		}
	})

	t.Run("KillEndsSessionAndIsNilWhenExited", func(t *testing.T) {
		run := s.startSession(t, name, "sleep", "60")
		listed := slices.IndexFunc(s.sessions(t, name), func(e sprites.ExecSession) bool { return e.ID == run.id })
		if listed < 0 {
			t.Errorf("running session %d is not listed", run.id)
		} else if got := s.sessions(t, name)[listed]; !strings.Contains(got.Command, "sleep") {
			t.Errorf("listed session %+v, want its command to name sleep", got)
		}
		if err := c.KillSession(s.ctx, name, run.id, "TERM", 5*time.Second); err != nil {
			t.Fatalf("KillSession: %v", err)
		}
		if err := run.wait(t); err == nil {
			t.Error("a killed sleep exited 0")
		}
		if err := c.KillSession(s.ctx, name, run.id, "", 0); err != nil {
			t.Errorf("KillSession of an exited session = %v, want nil (410 Gone)", err)
		}
		if err := c.KillSession(s.ctx, name, 999999999, "", 0); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("KillSession of an unknown session = %v, want ErrNotFound", err)
		}
	})

	t.Run("ExecHTTPReportsOutputAndExitCode", func(t *testing.T) {
		stdout, _, code, err := c.ExecHTTP(s.ctx, name, []string{"/bin/sh", "-c", "echo hi; exit 4"}, nil, "", nil)
		if err != nil || code != 4 || string(stdout) != "hi\n" {
			t.Errorf("ExecHTTP = stdout %q, code %d, err %v; want \"hi\\n\", 4, nil", stdout, code, err)
		}
		stdout, _, code, err = c.ExecHTTP(s.ctx, name, []string{"cat"}, nil, "", strings.NewReader("piped"))
		if err != nil || code != 0 || string(stdout) != "piped" {
			t.Errorf("ExecHTTP(cat) with stdin = stdout %q, code %d, err %v; want \"piped\", 0, nil", stdout, code, err)
		}
		s.writeFile(t, name, "httpdir/f.txt", "in dir")
		stdout, _, _, err = c.ExecHTTP(s.ctx, name, []string{"cat", "f.txt"}, []string{"A=1"}, sprites.HomeDir+"/httpdir", nil)
		if err != nil || string(stdout) != "in dir" {
			t.Errorf("ExecHTTP(cat f.txt) in httpdir = %q, %v", stdout, err)
		}
		if _, _, _, err := c.ExecHTTP(s.ctx, s.name("http-missing"), []string{"true"}, nil, "", nil); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ExecHTTP in a missing sprite = %v, want ErrNotFound", err)
		}
	})
}

// output runs a command and returns its stdout; it fails the test unless
// the command exits 0.
func (s *suite) output(t *testing.T, name string, env []string, args ...string) string {
	t.Helper()
	cmd := s.Client.Command(name, args...)
	cmd.Env = env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(s.ctx); err != nil {
		t.Fatalf("Run(%q): %v", args, err)
	}
	return stdout.String()
}

func (s *suite) sessions(t *testing.T, name string) []sprites.ExecSession {
	t.Helper()
	list, err := s.Client.ListSessions(s.ctx, name)
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	return list
}

// running is a command started in the background.
type running struct {
	id   int64
	done chan error
}

// startSession starts a command and returns once its session exists.
func (s *suite) startSession(t *testing.T, name string, args ...string) *running {
	t.Helper()
	cmd := s.Client.Command(name, args...)
	ids := make(chan int64, 1)
	cmd.OnSession = func(id int64) { ids <- id }
	r := &running{done: make(chan error, 1)}
	go func() { r.done <- cmd.Run(s.ctx) }()
	select {
	case r.id = <-ids:
	case err := <-r.done:
		t.Fatalf("Run(%q) ended before its session started: %v", args, err)
	}
	return r
}

// wait returns the command's result; the suite's context bounds it.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	return <-r.done
}

// notifyWriter calls found once when needle has been written.
type notifyWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	needle string
	found  func()
	done   bool
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.needle) {
		w.done = true
		w.found()
	}
	return len(p), nil
}
