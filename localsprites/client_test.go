package localsprites

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// TestClient_DrivesLocalsprites runs the project's own sprites client
// against localsprites: both speak one wire layer, so this is the check
// that they agree.
func TestClient_DrivesLocalsprites(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode, Quirks: Quirks{MissingSprite500: true, ExecHoldAfterExit: 5 * time.Second}})
		c := sprites.New(testToken, sprites.WithBaseURL(ts.srv.URL()))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()

		sp, err := c.CreateSprite(ctx, sprites.CreateRequest{Name: "cli", Labels: []string{"owner:t"}})
		if err != nil || sp.Status != sprites.StatusCold {
			t.Fatalf("create: %+v %v", sp, err)
		}
		if _, err := c.CreateSprite(ctx, sprites.CreateRequest{Name: "cli"}); !errors.Is(err, sprites.ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := c.GetSprite(ctx, "ghost"); !errors.Is(err, sprites.ErrNotFound) {
			t.Fatalf("missing (500 quirk): %v", err)
		}
		var names []string
		for s, err := range c.AllSprites(ctx, sprites.ListOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, s.Name)
		}
		if len(names) != 1 || names[0] != "cli" {
			t.Fatalf("list %v", names)
		}

		// Exec with stdin and both streams; the server holds the socket 5s
		// after the exit frame, and the client must not wait for that.
		var stdout, stderr bytes.Buffer
		cmd := c.Command("cli", "sh", "-c", "cat; echo warn >&2; exit 3")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader("piped"), &stdout, &stderr
		began := time.Now()
		err = cmd.Run(ctx)
		var exitErr *sprites.ExitError
		if !errors.As(err, &exitErr) || exitErr.Code != 3 || stdout.String() != "piped" || stderr.String() != "warn\n" {
			t.Fatalf("run: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
		}
		if time.Since(began) > 4*time.Second {
			t.Fatal("the client waited for the held socket")
		}

		out, _, code, err := c.ExecHTTP(ctx, "cli", []string{"sh", "-c", "echo http"}, nil, "", nil)
		if err != nil || code != 0 || string(out) != "http\n" {
			t.Fatalf("exec http: %q %d %v", out, code, err)
		}

		// Files.
		if _, err := c.WriteFile(ctx, "cli", "dir/f.txt", strings.NewReader("v1"), 0o600); err != nil {
			t.Fatal(err)
		}
		if data, err := c.ReadFile(ctx, "cli", "/home/sprite/dir/f.txt"); err != nil || string(data) != "v1" {
			t.Fatalf("read: %q %v", data, err)
		}
		if _, err := c.ReadFile(ctx, "cli", "nope"); !errors.Is(err, sprites.ErrNotFound) {
			t.Fatalf("read missing: %v", err)
		}
		list, err := c.ListFiles(ctx, "cli", "dir")
		if err != nil || list.Count != 1 || list.Entries[0].Mode != "0600" {
			t.Fatalf("list files: %+v %v", list, err)
		}

		// Checkpoint, change, restore.
		cp, err := c.CreateCheckpoint(ctx, "cli", "before", nil)
		if err != nil || cp.ID != "v1" {
			t.Fatalf("checkpoint: %+v %v", cp, err)
		}
		if _, err := c.WriteFile(ctx, "cli", "dir/f.txt", strings.NewReader("v2"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := c.RestoreCheckpoint(ctx, "cli", "v1", nil); err != nil {
			t.Fatal(err)
		}
		if data, _ := c.ReadFile(ctx, "cli", "dir/f.txt"); string(data) != "v1" {
			t.Fatalf("after restore: %q", data)
		}
		if err := c.RestoreCheckpoint(ctx, "cli", "v7", nil); !errors.Is(err, sprites.ErrNotFound) {
			t.Fatalf("restore unknown: %v", err)
		}
		cps, err := c.ListCheckpoints(ctx, "cli", false)
		if err != nil || len(cps) != 2 {
			t.Fatalf("checkpoints %+v %v", cps, err)
		}

		// A session that outlives its client, re-attached, then killed.
		ids := make(chan int64, 1)
		runCtx, stopRun := context.WithCancel(ctx)
		defer stopRun()
		long := c.Command("cli", "sh", "-c", "echo started; exec sleep 60")
		long.MaxRunAfterDisconnect = time.Minute
		long.OnSession = func(id int64) { ids <- id }
		long.Stdout = writerFunc(func(p []byte) {
			if strings.Contains(string(p), "started") {
				stopRun() // the client goes away mid-command
			}
		})
		var lost *sprites.ConnectionLostError
		if err := long.Run(runCtx); err == nil || errors.As(err, &exitErr) {
			t.Fatalf("cancelled run: %v", err)
		} else if errors.As(err, &lost) && lost.SessionID == 0 {
			t.Fatalf("lost connection without a session ID: %v", err)
		}
		id := <-ids
		sessions, err := c.ListSessions(ctx, "cli")
		if err != nil || len(sessions) != 1 || sessions[0].ID != id {
			t.Fatalf("sessions %+v %v", sessions, err)
		}
		var replay lockedBuffer
		attach := c.Attach("cli", id)
		attach.Stdout = &replay
		attachErr := make(chan error, 1)
		go func() { attachErr <- attach.Run(ctx) }()
		eventually(t, 10*time.Second, "the replay", func() bool { return strings.Contains(replay.String(), "started") })
		if err := c.KillSession(ctx, "cli", id, "TERM", time.Second); err != nil {
			t.Fatal(err)
		}
		if err := <-attachErr; !errors.As(err, &exitErr) || exitErr.Code != 128+15 {
			t.Fatalf("attached run after kill: %v", err)
		}
		if err := c.KillSession(ctx, "cli", id, "TERM", 0); err != nil {
			t.Fatalf("kill of an exited session (410) is not an error: %v", err)
		}

		if err := c.SetNetworkPolicy(ctx, "cli", sprites.NetworkPolicy{Rules: []sprites.PolicyRule{{Domain: "example.com", Action: "allow"}}}); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteSprite(ctx, "cli"); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteSprite(ctx, "cli"); !errors.Is(err, sprites.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// lockedBuffer is written by Run's goroutine while the test polls it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
