package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestReaper_DeletesTheSpritesOfATerminatedSession terminates a session with
// three sprites, so its cleanup never runs, and lets the reaper's schedule
// find them. Sprites of a running session, sprites without our label and
// sprites of another namespace survive, and so do orphans inside the grace
// period.
func TestReaper_DeletesTheSpritesOfATerminatedSession(t *testing.T) {
	t.Parallel()
	env := harness.New(t)
	ctx := testContext(t, 2*time.Minute)

	dead := env.Starter.Session("doomed")
	createSprites(t, dead, "one", "two", "three")
	alive := env.Starter.Session("alive")
	createSprites(t, alive, "keep")
	// Sprites the reaper must never touch: no label at all, and our label
	// with an owner in another namespace (which does not exist here).
	unlabelled := call(env.Sprites.CreateSprite(ctx, sprites.CreateRequest{Name: "not-ours"})).must(t, "create an unlabelled sprite")
	foreign := call(env.Sprites.CreateSprite(ctx, sprites.CreateRequest{Name: "other-namespace",
		Labels: workflows.OwnerLabels("some-other-namespace", "session/elsewhere")})).must(t, "create a foreign sprite")
	// Ours, but its owner never existed: an orphan too.
	ghost := call(env.Sprites.CreateSprite(ctx, sprites.CreateRequest{Name: "ghost-owned",
		Labels: workflows.OwnerLabels(env.Namespace, "session/never-started")})).must(t, "create a sprite of a missing owner")
	survivors := []string{workflows.ProviderName(env.Namespace, alive.ID(), "keep"), foreign.Name, unlabelled.Name}
	slices.Sort(survivors)

	terminated := time.Now()
	if err := env.Client.TerminateWorkflow(ctx, dead.WorkflowID(), "", "e2e: a death that runs no cleanup"); err != nil {
		t.Fatalf("TerminateWorkflow: %v", err)
	}
	if left := call(env.SpritesOwnedBy(ctx, dead.WorkflowID())).must(t, "list"); len(left) != 3 {
		t.Fatalf("after terminate the session owns %v on the backend, want its 3 sprites (no cleanup runs)", harness.Names(left))
	}

	// Inside the grace period every orphan survives a run.
	young := runReaper(t, env, reaper.ReaperInput{GracePeriod: time.Hour})
	if len(young.Orphans) != 0 || len(young.Deleted) != 0 || countSkipped(young, reaper.SkipGracePeriod) != 5 {
		t.Fatalf("reaper with a 1h grace: orphans %v, deleted %v, skipped %+v; want all 5 managed sprites skipped as young",
			young.Orphans, young.Deleted, young.Skipped)
	}
	env.WaitForSprites(t, "", 7, 0)

	// The schedule, as the worker creates it, with a short interval and grace.
	const interval, grace = 2 * time.Second, time.Second
	cfg := reaper.ScheduleConfig{ID: "reaper-e2e", Interval: interval, TaskQueue: env.TaskQueue, Grace: grace}
	if err := reaper.EnsureSchedule(ctx, env.Client, cfg); err != nil {
		t.Fatalf("EnsureSchedule: %v", err)
	}
	scheduled := time.Now()
	t.Cleanup(func() {
		_ = env.Client.ScheduleClient().GetHandle(context.Background(), cfg.ID).Delete(context.Background())
	})
	env.WaitForSprites(t, dead.WorkflowID(), 0, 30*time.Second)
	t.Logf("reaper: terminate -> zero sprites %v (%v after the schedule was created; interval %v + grace %v)",
		time.Since(terminated).Round(time.Millisecond), time.Since(scheduled).Round(time.Millisecond), interval, grace)
	harness.WaitUntil(t, 30*time.Second, "the orphan of a missing owner to be reaped", func() bool {
		_, err := env.Sprites.GetSprite(ctx, ghost.Name)
		return sprites.IsNotFound(err)
	})
	if err := env.Client.ScheduleClient().GetHandle(ctx, cfg.ID).Delete(ctx); err != nil {
		t.Fatalf("deleting the schedule: %v", err)
	}

	// A run after the orphans are gone finds the survivors and deletes none.
	after := runReaper(t, env, reaper.ReaperInput{GracePeriod: grace})
	if after.Alive != 1 || after.Managed != 1 || len(after.Orphans) != 0 || len(after.Deleted) != 0 || after.Scanned != 3 {
		t.Errorf("reaper run after the orphans: %+v; want 3 scanned, 1 managed and alive, nothing deleted", after)
	}
	if got := harness.Names(call(env.ProviderSprites(ctx)).must(t, "list")); !slices.Equal(got, survivors) {
		t.Errorf("after the reaper the backend holds %v, want the survivors %v", got, survivors)
	}

	call(alive.End(ctx, workflows.EndSessionRequest{})).must(t, "end the live session")
	for _, name := range []string{unlabelled.Name, foreign.Name} {
		if err := env.Sprites.DeleteSprite(ctx, name); err != nil {
			t.Errorf("deleting %s: %v", name, err)
		}
	}
	env.AssertNoSprites(t)
}

// runReaper runs one reaper workflow to its end and returns its result.
func runReaper(t *testing.T, env *harness.Env, in reaper.ReaperInput) reaper.ReaperResult {
	t.Helper()
	ctx := testContext(t, time.Minute)
	run, err := env.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "reaper-direct-" + time.Now().Format("150405.000000"), TaskQueue: env.TaskQueue,
	}, reaper.ReaperWorkflowName, in)
	if err != nil {
		t.Fatalf("starting the reaper: %v", err)
	}
	var res reaper.ReaperResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("reaper run: %v", err)
	}
	return res
}

func countSkipped(r reaper.ReaperResult, reason string) int {
	n := 0
	for _, s := range r.Skipped {
		if s.Reason == reason {
			n++
		}
	}
	return n
}
