package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// startLocalSprites runs a localsprites server on a free loopback port,
// stopped when the test ends.
func startLocalSprites(t *testing.T) *sprites.Client {
	t.Helper()
	srv, err := localsprites.Start(localsprites.Config{StateDir: t.TempDir(), Token: testToken}, "")
	if err != nil {
		t.Fatalf("starting localsprites: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return sprites.New(testToken, sprites.WithBaseURL(srv.URL()))
}

// TestActivities_LifecycleOnLocalSprites runs the activities over real
// HTTP and WebSocket against real processes and files: create, write,
// exec, checkpoint, change, restore (the change is undone), delete.
func TestActivities_LifecycleOnLocalSprites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts localsprites")
	}
	client := startLocalSprites(t)
	acts := New(client, Options{HeartbeatInterval: 100 * time.Millisecond})
	env := newActivityEnv(t, acts)
	const name = "ss-it-main"

	run := func(fn, in, out any) {
		t.Helper()
		val, err := env.ExecuteActivity(fn, in)
		if err != nil {
			t.Fatalf("%T: %v", in, err)
		}
		if out != nil {
			if err := val.Get(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Scripts name files by $HOME: /home/sprite under bubblewrap, the
	// sprite's own directory when localsprites runs plain processes.
	exec := func(script string) ExecOutput {
		t.Helper()
		var out ExecOutput
		run(acts.Exec, ExecInput{ProviderName: name, Argv: []string{"sh", "-c", script}, Timeout: 30 * time.Second}, &out)
		return out
	}

	var created CreateSpriteOutput
	run(acts.CreateSprite, CreateSpriteInput{ProviderName: name, Labels: ownerLabels}, &created)
	if created.Existed {
		t.Fatalf("create: %+v, want a new sprite", created)
	}
	// A retried create finds its own sprite.
	run(acts.CreateSprite, CreateSpriteInput{ProviderName: name, Labels: ownerLabels}, &created)
	if !created.Existed {
		t.Errorf("second create: %+v, want Existed", created)
	}

	var written WriteFileOutput
	run(acts.WriteFile, WriteFileInput{ProviderName: name, Path: "/home/sprite/state.txt", Content: "before\n", Mode: "0600"}, &written)
	if written.Size != int64(len("before\n")) {
		t.Errorf("write: %+v", written)
	}

	out := exec("cat \"$HOME/state.txt\"; echo oops >&2; exit 4")
	if out.Stdout != "before\n" || out.Stderr != "oops\n" || out.ExitCode != 4 || out.SessionID == 0 {
		t.Errorf("exec: %+v", out)
	}

	var cp CheckpointOutput
	run(acts.Checkpoint, CheckpointInput{ProviderName: name, Comment: "before change"}, &cp)
	if cp.ID == "" {
		t.Fatalf("checkpoint: %+v", cp)
	}

	if out := exec(`echo after > "$HOME/state.txt"`); out.ExitCode != 0 {
		t.Fatalf("change: %+v", out)
	}
	var read ReadFileOutput
	run(acts.ReadFile, ReadFileInput{ProviderName: name, Path: "/home/sprite/state.txt"}, &read)
	if read.Content != "after\n" {
		t.Fatalf("read after change: %+v", read)
	}

	run(acts.Restore, RestoreInput{ProviderName: name, CheckpointID: cp.ID}, nil)
	run(acts.ReadFile, ReadFileInput{ProviderName: name, Path: "/home/sprite/state.txt"}, &read)
	if read.Content != "before\n" || read.Encoding != EncodingUTF8 {
		t.Errorf("read after restore: %+v, want the checkpointed content", read)
	}

	// An unknown checkpoint is NotFound, not a retry loop.
	_, err := env.ExecuteActivity(acts.Restore, RestoreInput{ProviderName: name, CheckpointID: "v999"})
	appError(t, err, ErrTypeNotFound, false)

	var url ServiceURLOutput
	run(acts.ServiceURL, ServiceURLInput{ProviderName: name}, &url)
	if url.URL == "" || url.Public {
		t.Errorf("service URL: %+v", url)
	}

	var deleted DeleteSpriteOutput
	run(acts.DeleteSprite, DeleteSpriteInput{ProviderName: name}, &deleted)
	if !deleted.Existed {
		t.Errorf("delete: %+v, want Existed", deleted)
	}
	run(acts.DeleteSprite, DeleteSpriteInput{ProviderName: name}, &deleted)
	if deleted.Existed {
		t.Errorf("second delete: %+v, want already gone", deleted)
	}
	if _, err := client.GetSprite(t.Context(), name); !sprites.IsNotFound(err) {
		t.Errorf("get after delete: %v, want not found", err)
	}
}

// TestExec_TimeoutKillsARealProcessOnLocalSprites checks that a timed-out
// command is really gone afterwards.
func TestExec_TimeoutKillsARealProcessOnLocalSprites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts localsprites")
	}
	client := startLocalSprites(t)
	acts := New(client, Options{})
	env := newActivityEnv(t, acts)
	const name = "ss-it-timeout"
	if _, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: name, Labels: ownerLabels}); err != nil {
		t.Fatal(err)
	}
	val, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: name,
		Argv: []string{"sh", "-c", "echo started; sleep 60; echo never"}, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	var out ExecOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if !out.TimedOut || out.ExitCode == 0 || out.Stdout != "started\n" {
		t.Errorf("output = %+v, want timed out after printing started", out)
	}
	sessions, err := client.ListSessions(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if s.ID == out.SessionID && s.IsActive {
			t.Errorf("session %d still active after the timeout kill", s.ID)
		}
	}
}

// TestExec_RetryAfterWorkerStopReattachesOnLocalSprites stops the first
// attempt the way a stopping worker does, then runs a second attempt with
// the heartbeat details the first one recorded: it must re-attach, get the
// command's result, and the command must have run once.
func TestExec_RetryAfterWorkerStopReattachesOnLocalSprites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts localsprites")
	}
	client := startLocalSprites(t)
	const name = "ss-it-crash"
	acts := New(client, Options{HeartbeatInterval: 50 * time.Millisecond})
	setup := newActivityEnv(t, acts)
	if _, err := setup.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: name, Labels: ownerLabels}); err != nil {
		t.Fatal(err)
	}
	in := ExecInput{ProviderName: name, Timeout: time.Minute, Argv: []string{"sh", "-c",
		"echo ran >> \"$HOME/runs.txt\"; echo first; sleep 1; echo second; exit 7"}}

	// Attempt 1: the worker stops once the session is in a heartbeat.
	first := newActivityEnv(t, acts)
	bg, stopWorker := context.WithCancelCause(context.Background())
	defer stopWorker(nil)
	first.SetWorkerOptions(worker.Options{BackgroundActivityContext: bg})
	hbs := recordHeartbeats(first)
	go func() {
		waitFor(t, hbs.ch, "the session heartbeat")
		stopWorker(errors.New("worker stopping"))
	}()
	if _, err := first.ExecuteActivity(acts.Exec, in); err == nil {
		t.Fatal("the first attempt finished although its worker stopped")
	}
	hbs.mu.Lock()
	last := hbs.seen[len(hbs.seen)-1]
	hbs.mu.Unlock()

	// Attempt 2 on a new worker.
	second := newActivityEnv(t, acts)
	second.SetHeartbeatDetails(last)
	val, err := second.ExecuteActivity(acts.Exec, in)
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	var out ExecOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 7 || out.Stdout != "first\nsecond\n" || out.SessionID != last.SessionID {
		t.Errorf("output = %+v, want exit 7 with both lines from session %d", out, last.SessionID)
	}

	var runs ReadFileOutput
	rval, err := setup.ExecuteActivity(acts.ReadFile, ReadFileInput{ProviderName: name, Path: "/home/sprite/runs.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rval.Get(&runs); err != nil {
		t.Fatal(err)
	}
	if runs.Content != "ran\n" {
		t.Errorf("runs.txt = %q, want the command run exactly once", runs.Content)
	}
}
