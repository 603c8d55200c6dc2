package e2e

import (
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// cleanupDeadline is how long a session's sprites may outlive its end:
// "within seconds".
const cleanupDeadline = 15 * time.Second

// TestCleanup_EveryExitPathDeletesTheSprites ends sessions by idle timeout,
// maximum lifetime and cancellation (during a running exec), and checks on
// the backend that their sprites are deleted within seconds, reporting how
// long each took.
func TestCleanup_EveryExitPathDeletesTheSprites(t *testing.T) {
	t.Parallel()
	env := harness.New(t)

	t.Run("exits", func(t *testing.T) {
		t.Run("idle timeout", func(t *testing.T) {
			t.Parallel()
			const idle = 2 * time.Second
			st := env.NewStarter(starter.WithSessionConfig(workflows.SessionConfig{IdleTimeout: idle}))
			s := st.Session("idle")
			createSprites(t, s, "one", "two")
			lastCall := time.Now()
			took := env.WaitForSprites(t, s.WorkflowID(), 0, idle+cleanupDeadline)
			t.Logf("idle timeout %v: sprites deleted %v after the last call (%v after the deadline)",
				idle, took.Round(time.Millisecond), (time.Since(lastCall) - idle).Round(time.Millisecond))
			wantResult(t, env, s, workflows.EndReasonIdle, "one", "two")
		})

		t.Run("max lifetime", func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, time.Minute)
			const lifetime = 4 * time.Second
			st := env.NewStarter(starter.WithSessionConfig(workflows.SessionConfig{MaxLifetime: lifetime}))
			s := st.Session("lifetime")
			started := time.Now()
			createSprites(t, s, "one")
			// Activity does not extend a lifetime, unlike an idle timeout.
			for time.Since(started) < lifetime/2 {
				call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "one", Command: "sleep 0.5"})).must(t, "keep busy")
			}
			env.WaitForSprites(t, s.WorkflowID(), 0, lifetime+cleanupDeadline)
			t.Logf("max lifetime %v: sprites deleted %v after the session started",
				lifetime, time.Since(started).Round(time.Millisecond))
			wantResult(t, env, s, workflows.EndReasonLifetime, "one")
		})

		t.Run("cancellation during an exec", func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, time.Minute)
			s := env.Starter.Session("cancel")
			createSprites(t, s, "one", "two")
			tag := sleepTag()
			execDone := make(chan error, 1)
			go func() {
				_, err := s.Exec(ctx, workflows.ExecRequest{SpriteName: "one", Argv: []string{"sleep", tag}})
				execDone <- err
			}()
			harness.WaitUntil(t, 10*time.Second, "the exec's command to run", func() bool {
				return len(processesWithArgs("sleep", tag)) == 1
			})
			if err := env.Client.CancelWorkflow(ctx, s.WorkflowID(), ""); err != nil {
				t.Fatalf("CancelWorkflow: %v", err)
			}
			took := env.WaitForSprites(t, s.WorkflowID(), 0, cleanupDeadline)
			t.Logf("cancellation: sprites deleted %v after CancelWorkflow", took.Round(time.Millisecond))
			select {
			case err := <-execDone:
				if err == nil {
					t.Errorf("the exec interrupted by the cancellation reported success")
				}
			case <-time.After(cleanupDeadline):
				t.Errorf("the exec interrupted by the cancellation has not answered after %v", cleanupDeadline)
			}
			wantResult(t, env, s, workflows.EndReasonCancelled, "one", "two")
			if pids := processesWithArgs("sleep", tag); len(pids) != 0 {
				t.Errorf("the cancelled exec's command still runs: pids %v", pids)
			}
		})
	})
	env.AssertNoSprites(t)
}

func createSprites(t *testing.T, s *starter.Session, names ...string) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	for _, n := range names {
		call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: n})).must(t, "create "+n)
	}
}

// wantResult checks a closed session's result and that its workflow
// completed (a session ends by returning, whatever ended it).
func wantResult(t *testing.T, env *harness.Env, s *starter.Session, reason string, deleted ...string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	res := call(s.Wait(ctx)).must(t, "Wait")
	got := slices.Sorted(slices.Values(res.Deleted))
	if res.Reason != reason || !slices.Equal(got, deleted) || len(res.Failed) != 0 {
		t.Errorf("session result = %+v, want reason %s, deleted %v", res, reason, deleted)
	}
	d := call(s.Describe(ctx)).must(t, "Describe after the end")
	if d.State != workflows.StateEnded || len(d.Sprites) != 0 {
		t.Errorf("Describe after the end: state %s, %d sprites", d.State, len(d.Sprites))
	}
	desc := call(env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")).must(t, "describe workflow")
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("the session's workflow closed as %v, want completed", st)
	}
}
