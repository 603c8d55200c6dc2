package replay

import (
	"context"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

var record = flag.Bool("record", false, "record the replay fixtures in testdata/ again from real runs")

// scenarioTimeout bounds one recorded path.
const scenarioTimeout = 3 * time.Minute

// TestRecordFixtures records every fixture from a real run. It runs only
// when asked (-record or RECORD_FIXTURES=1): see the package doc.
func TestRecordFixtures(t *testing.T) {
	if !*record && os.Getenv("RECORD_FIXTURES") != "1" {
		t.Skip("records fixtures only with -record or RECORD_FIXTURES=1")
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("sessions", func(t *testing.T) {
		r := newRecording(t, workflows.SessionConfig{})
		t.Run("plain", func(t *testing.T) { recordPlain(t, r) })
		t.Run("risky_success", func(t *testing.T) { recordRiskySuccess(t, r) })
		t.Run("risky_restore", func(t *testing.T) { recordRiskyRestore(t, r) })
		t.Run("cancel_cleanup", func(t *testing.T) { recordCancel(t, r) })
		t.Run("idle_timeout", func(t *testing.T) { recordIdle(t, r) })
		t.Run("reaper", func(t *testing.T) { recordReaper(t, r) })
		r.assertNoSprites(t)
	})
	t.Run("continue_as_new", func(t *testing.T) {
		r := newRecording(t, workflows.SessionConfig{},
			harness.WithDynamicConfig("limit.historyCount.suggestContinueAsNew", 40))
		recordContinueAsNew(t, r)
		r.assertNoSprites(t)
	})
}

func scenarioContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// check fails the recording on an error: a path that does not behave is
// not one to record.
func check[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// endAndRecord ends the session, checks that cleanup deleted want, and
// records the closed run.
func endAndRecord(t *testing.T, r *recording, ctx context.Context, s *starter.Session, name string, want ...string) {
	t.Helper()
	end := check[workflows.EndSessionResponse](t, "EndSession")(s.End(ctx, workflows.EndSessionRequest{Reason: "recorded"}, starter.WithUpdateID(name+"-end")))
	if !slices.Equal(end.Deleted, want) || len(end.Failed) > 0 {
		t.Fatalf("EndSession deleted %v (failed %v), want %v", end.Deleted, end.Failed, want)
	}
	res := check[workflows.SessionResult](t, "Wait")(s.Wait(ctx))
	if res.Reason != workflows.EndReasonEnded {
		t.Fatalf("session ended with %q, want %q", res.Reason, workflows.EndReasonEnded)
	}
	writeFixture(t, r.client, name, s.WorkflowID(), "")
}

func recordPlain(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	s := r.starter.Session("plain")
	id := func(step string) starter.CallOption { return starter.WithUpdateID("plain-" + step) }

	check[workflows.CreateSpriteResponse](t, "create box")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, id("create-box")))
	check[workflows.CreateSpriteResponse](t, "create scratch")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "scratch"}, id("create-scratch")))
	check[workflows.WriteFileResponse](t, "write")(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "notes.txt", Content: "hello\n"}, id("write")))
	ex := check[workflows.ExecResponse](t, "exec")(s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "cat notes.txt; echo done"}, id("exec")))
	if ex.ExitCode != 0 || ex.Stdout != "hello\ndone\n" {
		t.Fatalf("exec: exit %d, stdout %q", ex.ExitCode, ex.Stdout)
	}
	cp := check[workflows.CheckpointResponse](t, "checkpoint")(s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: "box", Comment: "before edit"}, id("checkpoint")))
	check[workflows.WriteFileResponse](t, "overwrite")(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "notes.txt", Content: "changed\n"}, id("overwrite")))
	check[workflows.RestoreCheckpointResponse](t, "restore")(s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: "box", CheckpointID: cp.CheckpointID}, id("restore")))
	rf := check[workflows.ReadFileResponse](t, "read")(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "notes.txt"}, id("read")))
	if rf.Content != "hello\n" {
		t.Fatalf("after restore notes.txt holds %q, want the checkpointed %q", rf.Content, "hello\n")
	}
	su := check[workflows.ServiceURLResponse](t, "service URL")(s.ServiceURL(ctx, workflows.ServiceURLRequest{SpriteName: "box"}, id("service-url")))
	if su.URL == "" {
		t.Fatal("ServiceURL answered no URL")
	}
	check[workflows.DeleteSpriteResponse](t, "delete scratch")(s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{SpriteName: "scratch"}, id("delete-scratch")))
	endAndRecord(t, r, ctx, s, "plain", "box")
}

func recordRiskySuccess(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	s := r.starter.Session("risky-success")
	check[workflows.CreateSpriteResponse](t, "create")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, starter.WithUpdateID("risky-success-create")))
	res := check[workflows.RiskyStepResponse](t, "risky step")(s.RunRiskyStep(ctx, workflows.RiskyStepRequest{
		Sprites: []string{"box"},
		Steps:   []workflows.RiskyCommand{{Command: "echo v2 > version.txt"}, {Command: "cat version.txt"}},
		Verify:  &workflows.RiskyCommand{Command: "grep -q v2 version.txt"},
		Comment: "upgrade",
	}, starter.WithUpdateID("risky-success-step")))
	if !res.Success || res.Restored || res.Checkpoints["box"] == "" {
		t.Fatalf("risky step: %+v, want success with a checkpoint kept", res)
	}
	endAndRecord(t, r, ctx, s, "risky_success", "box")
}

func recordRiskyRestore(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	s := r.starter.Session("risky-restore")
	check[workflows.CreateSpriteResponse](t, "create")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, starter.WithUpdateID("risky-restore-create")))
	check[workflows.WriteFileResponse](t, "write")(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "version.txt", Content: "v1\n"}, starter.WithUpdateID("risky-restore-write")))
	res := check[workflows.RiskyStepResponse](t, "risky step")(s.RunRiskyStep(ctx, workflows.RiskyStepRequest{
		Sprites: []string{"box"},
		Steps:   []workflows.RiskyCommand{{Command: "echo v2 > version.txt"}},
		Verify:  &workflows.RiskyCommand{Command: "grep -q v3 version.txt"},
		Comment: "failing upgrade",
	}, starter.WithUpdateID("risky-restore-step")))
	if res.Success || !res.Restored || res.FailedStep != 1 || len(res.Tainted) > 0 {
		t.Fatalf("risky step: %+v, want a failed verify (step 1) and a restore", res)
	}
	rf := check[workflows.ReadFileResponse](t, "read")(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "version.txt"}, starter.WithUpdateID("risky-restore-read")))
	if rf.Content != "v1\n" {
		t.Fatalf("after the restore version.txt holds %q, want %q", rf.Content, "v1\n")
	}
	endAndRecord(t, r, ctx, s, "risky_restore", "box")
}

// recordCancel cancels the session while an exec runs: the exec's update
// fails, cleanup still deletes the sprite, and the run completes.
func recordCancel(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	s := r.starter.Session("cancel")
	check[workflows.CreateSpriteResponse](t, "create")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, starter.WithUpdateID("cancel-create")))
	execErr := make(chan error, 1)
	go func() {
		_, err := s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "sleep 120"}, starter.WithUpdateID("cancel-exec"))
		execErr <- err
	}()
	harness.WaitUntil(t, time.Minute, "the exec activity to start", func() bool {
		d, err := r.client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")
		if err != nil {
			return false
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "Exec" && pa.GetLastStartedTime() != nil {
				return true
			}
		}
		return false
	})
	if err := r.client.CancelWorkflow(ctx, s.WorkflowID(), ""); err != nil {
		t.Fatalf("cancelling: %v", err)
	}
	res := check[workflows.SessionResult](t, "Wait")(s.Wait(ctx))
	if res.Reason != workflows.EndReasonCancelled || !slices.Equal(res.Deleted, []string{"box"}) {
		t.Fatalf("cancelled session: %+v, want reason %q and box deleted", res, workflows.EndReasonCancelled)
	}
	if err := <-execErr; err == nil {
		t.Fatal("the exec cut off by the cancellation answered without error")
	}
	writeFixture(t, r.client, "cancel_cleanup", s.WorkflowID(), "")
}

func recordIdle(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	st := starter.New(r.client, starter.WithTaskQueue(r.env.TaskQueue),
		starter.WithSessionConfig(workflows.SessionConfig{IdleTimeout: 3 * time.Second}))
	s := st.Session("idle")
	check[workflows.CreateSpriteResponse](t, "create")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, starter.WithUpdateID("idle-create")))
	res := check[workflows.SessionResult](t, "Wait")(s.Wait(ctx))
	if res.Reason != workflows.EndReasonIdle || !slices.Equal(res.Deleted, []string{"box"}) {
		t.Fatalf("idle session: %+v, want reason %q and box deleted", res, workflows.EndReasonIdle)
	}
	writeFixture(t, r.client, "idle_timeout", s.WorkflowID(), "")
}

// recordReaper runs the reaper over one orphan (its owner never existed)
// and one sprite of a live session: it deletes the first, keeps the second.
func recordReaper(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	live := r.starter.Session("reaper-live")
	check[workflows.CreateSpriteResponse](t, "create")(live.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, starter.WithUpdateID("reaper-live-create")))
	const orphan = "orphan-of-a-gone-session"
	check[*sprites.Sprite](t, "create orphan")(r.sprites.CreateSprite(ctx, sprites.CreateRequest{
		Name:   orphan,
		Labels: workflows.OwnerLabels(r.env.Namespace, workflows.SessionWorkflowID("gone")),
	}))
	run, err := r.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "reaper-replay", TaskQueue: r.env.TaskQueue},
		reaper.ReaperWorkflowName, reaper.ReaperInput{GracePeriod: time.Millisecond})
	if err != nil {
		t.Fatalf("starting the reaper: %v", err)
	}
	var res reaper.ReaperResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("reaper: %v", err)
	}
	if !slices.Equal(res.Deleted, []string{orphan}) || res.Alive != 1 {
		t.Fatalf("reaper: %+v, want the orphan deleted and one live sprite kept", res)
	}
	writeFixture(t, r.client, "reaper", run.GetID(), run.GetRunID())
	end := check[workflows.EndSessionResponse](t, "EndSession")(live.End(ctx, workflows.EndSessionRequest{}))
	if !slices.Equal(end.Deleted, []string{"box"}) {
		t.Fatalf("live session's cleanup deleted %v, want [box]", end.Deleted)
	}
}

// recordContinueAsNew drives a session past the server's (lowered)
// continue-as-new suggestion and records its first run, which ends in
// continue-as-new, and its last run, which starts from carried-over state.
func recordContinueAsNew(t *testing.T, r *recording) {
	ctx := scenarioContext(t)
	s := r.starter.Session("continue-as-new")
	check[workflows.CreateSpriteResponse](t, "create")(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}, starter.WithUpdateID("can-create")))
	desc, err := r.client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")
	if err != nil {
		t.Fatalf("describing the first run: %v", err)
	}
	firstRun := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()

	for i := 0; ; i++ {
		if i == 40 {
			t.Fatal("no continue-as-new after 40 updates")
		}
		ex := check[workflows.ExecResponse](t, "exec")(s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo tick >> ticks.txt"}))
		if ex.ExitCode != 0 {
			t.Fatalf("exec exit %d: %s", ex.ExitCode, ex.Stderr)
		}
		d := check[workflows.DescribeResponse](t, "describe")(s.Describe(ctx))
		if d.Runs >= 1 {
			break
		}
	}
	// The new run knows the sprite and its files.
	rf := check[workflows.ReadFileResponse](t, "read")(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "ticks.txt"}, starter.WithUpdateID("can-read")))
	if !strings.HasPrefix(rf.Content, "tick\n") {
		t.Fatalf("ticks.txt after continue-as-new: %q", rf.Content)
	}
	writeFixture(t, r.client, "continue_as_new_first_run", s.WorkflowID(), firstRun)
	endAndRecord(t, r, ctx, s, "continue_as_new_last_run", "box")
}
