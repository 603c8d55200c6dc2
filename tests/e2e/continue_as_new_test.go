package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestContinueAsNew_StateCarriesOverAndTheSessionKeepsWorking lowers the
// server's continue-as-new suggestion to a few dozen events and drives a
// session past it: the sprites, checkpoints, counters and recent update IDs
// carry over to the new run, later calls work, and the end cleans up.
func TestContinueAsNew_StateCarriesOverAndTheSessionKeepsWorking(t *testing.T) {
	t.Parallel()
	env := harness.New(t, harness.WithDynamicConfig("limit.historyCount.suggestContinueAsNew", 40))
	ctx := testContext(t, 2*time.Minute)
	s := env.Starter.Session("long")

	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})).must(t, "create box")
	firstRun := call(env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")).must(t, "describe").
		GetWorkflowExecutionInfo().GetExecution().GetRunId()
	call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "state.txt", Content: "v1"})).must(t, "write v1")
	cp := call(s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: "box", Comment: "v1"})).must(t, "checkpoint")
	// An update with a fixed ID, repeated after continue-as-new, must be
	// answered from the carried-over record, not run again.
	const onceID = "append-once"
	first := call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo x >> once.txt; wc -l < once.txt"},
		starter.WithUpdateID(onceID))).must(t, "exec with a fixed update ID")
	onceRun := call(s.Describe(ctx)).must(t, "Describe").Runs

	updates := 4
	for ; ; updates++ {
		d := call(s.Describe(ctx)).must(t, "Describe")
		if d.Runs > onceRun {
			break
		}
		if updates > 60 {
			t.Fatalf("no continue-as-new after %d updates with suggestContinueAsNew=40", updates)
		}
		call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "state.txt"})).must(t, "read")
	}
	lastRun := call(env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")).must(t, "describe").
		GetWorkflowExecutionInfo().GetExecution().GetRunId()
	t.Logf("continued as new %d time(s) after %d updates (run %s -> %s)", call(s.Describe(ctx)).must(t, "Describe").Runs, updates, firstRun, lastRun)
	if lastRun == firstRun {
		t.Fatal("Describe reports a new run but the workflow's run ID did not change")
	}

	d := call(s.Describe(ctx)).must(t, "Describe")
	if len(d.Sprites) != 1 || d.Sprites[0].SpriteName != "box" || d.Counters.SpritesCreated != 1 || d.Counters.Checkpoints != 1 ||
		d.Counters.Updates < updates-1 || d.State != workflows.StateActive {
		t.Errorf("state after continue-as-new: %+v", d)
	}
	if !slices.ContainsFunc(d.Sprites[0].Checkpoints, func(c workflows.CheckpointInfo) bool { return c.ID == cp.CheckpointID }) {
		t.Errorf("checkpoint %s lost in continue-as-new: %+v", cp.CheckpointID, d.Sprites[0].Checkpoints)
	}

	again := call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo x >> once.txt; wc -l < once.txt"},
		starter.WithUpdateID(onceID))).must(t, "repeat the fixed update ID")
	if again.Stdout != first.Stdout {
		t.Errorf("repeated update answered %q, want the first answer %q", again.Stdout, first.Stdout)
	}
	if r := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "once.txt"})).must(t, "read once.txt"); r.Content != "x\n" {
		t.Errorf("once.txt = %q: the update with a repeated ID ran again", r.Content)
	}

	// The new run works with what the old one made.
	call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "state.txt", Content: "v2"})).must(t, "write v2")
	call(s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: "box", CheckpointID: cp.CheckpointID})).must(t, "restore the old run's checkpoint")
	if r := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "state.txt"})).must(t, "read"); r.Content != "v1" {
		t.Errorf("after restoring the old run's checkpoint state.txt = %q, want v1", r.Content)
	}
	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "late"})).must(t, "create in the new run")

	end := call(s.End(ctx, workflows.EndSessionRequest{})).must(t, "End")
	if got := slices.Sorted(slices.Values(end.Deleted)); !slices.Equal(got, []string{"box", "late"}) {
		t.Errorf("End deleted %v, want box and late", got)
	}
	res := call(s.Wait(ctx)).must(t, "Wait")
	if res.Reason != workflows.EndReasonEnded || len(res.Deleted) != 2 {
		t.Errorf("session result = %+v", res)
	}
	env.AssertNoSprites(t)
}
