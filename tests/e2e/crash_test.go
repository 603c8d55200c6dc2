package e2e

import (
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestWorkerCrash_ExecAnswersOnceAndRunsOnce stops the worker while an exec
// runs and starts a new one: the update still gets the command's result,
// and the command ran exactly once (it appends a line to a file).
func TestWorkerCrash_ExecAnswersOnceAndRunsOnce(t *testing.T) {
	t.Parallel()
	env := harness.New(t)
	ctx := testContext(t, 2*time.Minute)
	s := env.Starter.Session("crash")
	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})).must(t, "create box")
	provider := workflows.ProviderName(env.Namespace, s.ID(), "box")

	type answer struct {
		resp workflows.ExecResponse
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		r, err := s.Exec(ctx, workflows.ExecRequest{SpriteName: "box",
			Command: "echo ran >> crash.log; sleep 3; echo finished; exit 5"})
		done <- answer{r, err}
	}()

	// Crash only once the command runs and the activity has told Temporal
	// its remote session in a heartbeat: that is what a retry re-attaches to.
	harness.WaitUntil(t, 20*time.Second, "the command to run and the exec to heartbeat its session", func() bool {
		data, err := env.Sprites.ReadFile(ctx, provider, workflows.WorkspacePath+"/crash.log")
		if err != nil || string(data) != "ran\n" {
			return false
		}
		desc, err := env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")
		if err != nil {
			return false
		}
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "Exec" && pa.GetHeartbeatDetails() != nil {
				return true
			}
		}
		return false
	})
	env.StopWorker()
	select {
	case a := <-done:
		t.Fatalf("the exec answered while no worker ran: %+v, %v", a.resp, a.err)
	default:
	}
	env.StartWorker(t)

	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
		t.Fatal("the exec never answered after the worker restart")
	}
	if a.err != nil {
		t.Fatalf("exec across a worker crash: %v", a.err)
	}
	if a.resp.ExitCode != 5 || a.resp.Stdout != "finished\n" {
		t.Errorf("exec across a worker crash = %+v, want exit 5 and its output", a.resp)
	}
	data := call(env.Sprites.ReadFile(ctx, provider, workflows.WorkspacePath+"/crash.log")).must(t, "read crash.log")
	if string(data) != "ran\n" {
		t.Errorf("crash.log = %q: the command ran %d times, want once", data, len(data)/len("ran\n"))
	}
	// The crash really cost an attempt: the answer came from a retry.
	attempts := 0
	for _, ev := range env.History(t, s.WorkflowID(), "") {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			attempts = max(attempts, int(a.GetAttempt()))
		}
	}
	if attempts < 2 {
		t.Errorf("the exec finished in attempt %d: the worker stop did not interrupt it", attempts)
	}

	call(s.End(ctx, workflows.EndSessionRequest{})).must(t, "End")
	env.AssertNoSprites(t)
}
