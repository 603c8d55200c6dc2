package process

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sprite-sessions/sprite-sessions/reaper"
)

// The worker process creates the reaper's schedule from its environment
// before it reports ready: ID, interval, grace, dry run, task queue and the
// skip overlap policy all come through.
func TestWorkerProcess_CreatesTheReaperScheduleItsEnvironmentDescribes(t *testing.T) {
	s := newStack(t)
	addr := freeAddr(t)
	const id = "reaper-from-env"
	p := startWorker(t, "schedule", addr, s.workerEnv(addr,
		"SPRITE_SESSIONS_REAPER_SCHEDULE_ID="+id,
		"SPRITE_SESSIONS_REAPER_INTERVAL=7m",
		"SPRITE_SESSIONS_REAPER_GRACE=3m",
		"SPRITE_SESSIONS_REAPER_DRY_RUN=true",
	))
	p.waitStatus(t, "/readyz", http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := s.env.Client.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		t.Fatalf("describing schedule %s once the worker is ready: %v", id, err)
	}
	if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 7*time.Minute {
		t.Errorf("schedule intervals = %+v, want every 7m", iv)
	}
	if d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("overlap policy = %v, want skip", d.Schedule.Policy.Overlap)
	}
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		t.Fatalf("schedule action = %T, want a workflow action", d.Schedule.Action)
	}
	if action.Workflow != reaper.ReaperWorkflowName || action.TaskQueue != s.env.TaskQueue || len(action.Args) != 1 {
		t.Fatalf("schedule action = %+v, want %s on %s with one argument", action, reaper.ReaperWorkflowName, s.env.TaskQueue)
	}
	payload, ok := action.Args[0].(*commonpb.Payload)
	if !ok {
		t.Fatalf("schedule argument = %T, want a payload", action.Args[0])
	}
	var in reaper.ReaperInput
	if err := converter.GetDefaultDataConverter().FromPayload(payload, &in); err != nil {
		t.Fatal(err)
	}
	if in.GracePeriod != 3*time.Minute || !in.DryRun {
		t.Errorf("reaper input = %+v, want grace 3m and dry run", in)
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.waitExit(t, processTimeout); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM, want 0", code)
	}
}
