package replay

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// fixturePaths are the paths the guarantees promise a recorded history
// for, with the event that closes each run and events the run must hold
// to be that path at all.
var fixturePaths = []struct {
	name     string
	workflow string
	closing  enumspb.EventType
	holds    []enumspb.EventType
}{
	{"plain", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED}},
	{"risky_success", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}},
	{"risky_restore", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}},
	{"continue_as_new_first_run", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}},
	{"continue_as_new_last_run", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}},
	{"cancel_cleanup", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED}},
	{"idle_timeout", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_TIMER_FIRED}},
	{"reaper", reaper.ReaperWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED}},
}

// newReplayer registers the workflows of this build under the names the
// worker registers them with (worker.Register).
func newReplayer(t *testing.T, session any) sdkworker.WorkflowReplayer {
	t.Helper()
	r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{
		// Two shared cores: a starved replay must not fail as a deadlock.
		DisableDeadlockDetection: true,
	})
	if err != nil {
		t.Fatalf("building the replayer: %v", err)
	}
	r.RegisterWorkflowWithOptions(session, workflow.RegisterOptions{Name: workflows.SessionWorkflowName})
	r.RegisterWorkflowWithOptions(reaper.ReaperWorkflow, workflow.RegisterOptions{Name: reaper.ReaperWorkflowName})
	return r
}

func testLogger(t *testing.T) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func TestReplay_AllFixtures(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			if err := newReplayer(t, workflows.SessionWorkflow).ReplayWorkflowHistoryFromJSONFile(testLogger(t), path); err != nil {
				t.Fatalf("replaying %s: %v", path, err)
			}
		})
	}
}

func TestReplay_FixtureForEveryPath(t *testing.T) {
	for _, p := range fixturePaths {
		t.Run(p.name, func(t *testing.T) {
			h := loadFixture(t, filepath.Join(fixtureDir, p.name+".json"))
			if got := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName(); got != p.workflow {
				t.Errorf("workflow type %q, want %q", got, p.workflow)
			}
			if got := lastEventType(h); got != p.closing {
				t.Errorf("run closes with %v, want %v", got, p.closing)
			}
			for _, typ := range p.holds {
				if countEvents(h, typ) == 0 {
					t.Errorf("no %v event: the fixture does not record this path", typ)
				}
			}
		})
	}
}

func TestReplay_FixturesStaySmall(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		if size := fileSize(t, path); size > maxFixtureBytes {
			t.Errorf("%s is %d bytes, over %d", path, size, maxFixtureBytes)
		}
	}
}

// changedSession is SessionWorkflow with one command added in front: the
// kind of unversioned change the replay test exists to catch.
func changedSession(ctx workflow.Context, in workflows.SessionInput) (workflows.SessionResult, error) {
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return workflows.SessionResult{}, err
	}
	return workflows.SessionWorkflow(ctx, in)
}

func TestReplay_FailsOnNonDeterministicChange(t *testing.T) {
	path := filepath.Join(fixtureDir, "plain.json")
	err := newReplayer(t, changedSession).ReplayWorkflowHistoryFromJSONFile(testLogger(t), path)
	if err == nil {
		t.Fatal("a session workflow that adds a timer replayed plain.json without error")
	}
	// TMPRL1100 is the SDK's code for every history mismatch.
	if !strings.Contains(err.Error(), "TMPRL1100") {
		t.Fatalf("want a non-determinism error, got: %v", err)
	}
}
