package replay

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// fixturePaths are the paths the guarantees promise a recorded history
// for, with the event that closes each run, events the run must hold to be
// that path at all and, where event types cannot tell the path apart, a
// check of what the events say.
var fixturePaths = []struct {
	name     string
	workflow string
	closing  enumspb.EventType
	holds    []enumspb.EventType
	check    func(t *testing.T, h *historypb.History)
}{
	{"plain", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED}, nil},
	{"risky_success", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}, checkRiskySuccess},
	{"risky_restore", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}, checkRiskyRestore},
	{"continue_as_new_first_run", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}, nil},
	{"continue_as_new_last_run", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}, nil},
	{"cancel_cleanup", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED}, nil},
	{"idle_timeout", workflows.SessionWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_TIMER_FIRED}, nil},
	{"reaper", reaper.ReaperWorkflowName, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]enumspb.EventType{enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED}, nil},
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
			if p.check != nil {
				p.check(t, h)
			}
		})
	}
}

// riskyUpdate is the one RunRiskyStep update of a history: the events that
// accept and complete it, and its answer.
type riskyUpdate struct {
	accepted, completed int64 // event IDs
	resp                workflows.RiskyStepResponse
}

// findRiskyUpdate finds the history's one RunRiskyStep update, which must
// have completed with an answer.
func findRiskyUpdate(t *testing.T, h *historypb.History) riskyUpdate {
	t.Helper()
	var u riskyUpdate
	var id string
	for _, ev := range h.Events {
		req := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
		if req.GetInput().GetName() != workflows.UpdateRunRiskyStep {
			continue
		}
		if id != "" {
			t.Fatalf("two %s updates (%s and %s): the path is not one risky step", workflows.UpdateRunRiskyStep, id, req.GetMeta().GetUpdateId())
		}
		id, u.accepted = req.GetMeta().GetUpdateId(), ev.GetEventId()
	}
	if id == "" {
		t.Fatalf("no %s update accepted", workflows.UpdateRunRiskyStep)
	}
	for _, ev := range h.Events {
		attrs := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
		if attrs.GetMeta().GetUpdateId() != id {
			continue
		}
		if f := attrs.GetOutcome().GetFailure(); f != nil {
			t.Fatalf("%s update %s failed: %s", workflows.UpdateRunRiskyStep, id, f.GetMessage())
		}
		decodePayloads(t, attrs.GetOutcome().GetSuccess(), &u.resp)
		u.completed = ev.GetEventId()
	}
	if u.completed == 0 {
		t.Fatalf("%s update %s never completed", workflows.UpdateRunRiskyStep, id)
	}
	return u
}

func decodePayloads(t *testing.T, p *commonpb.Payloads, out any) {
	t.Helper()
	if len(p.GetPayloads()) != 1 {
		t.Fatalf("%d payloads, want one", len(p.GetPayloads()))
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p.GetPayloads()[0], out); err != nil {
		t.Fatalf("decoding a payload into %T: %v", out, err)
	}
}

// activityType names the activity an activity event belongs to.
func activityType(h *historypb.History, ev *historypb.HistoryEvent) string {
	if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
		return a.GetActivityType().GetName()
	}
	if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
		for _, s := range h.Events {
			if s.GetEventId() == a.GetScheduledEventId() {
				return activityType(h, s)
			}
		}
	}
	return ""
}

// checkRiskySuccess: the risky step's update answers success, and no
// Restore activity was ever scheduled.
func checkRiskySuccess(t *testing.T, h *historypb.History) {
	u := findRiskyUpdate(t, h)
	if r := u.resp; !r.Success || r.Restored || r.FailedStep != -1 || len(r.Checkpoints) == 0 {
		t.Errorf("the %s update answers %+v, want success with a checkpoint", workflows.UpdateRunRiskyStep, r)
	}
	for _, ev := range h.Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && activityType(h, ev) == "Restore" {
			t.Errorf("event %d schedules a Restore: a successful risky step restores nothing", ev.GetEventId())
		}
	}
}

// checkRiskyRestore: within the risky step's update, an Exec answers with a
// failure (a non-zero exit or a timeout), a Restore is scheduled after it
// and completes, and the update answers failed and restored.
func checkRiskyRestore(t *testing.T, h *historypb.History) {
	u := findRiskyUpdate(t, h)
	if r := u.resp; r.Success || !r.Restored || r.FailedStep < 0 || len(r.Tainted) != 0 {
		t.Errorf("the %s update answers %+v, want a failed step, restored", workflows.UpdateRunRiskyStep, r)
	}
	var failed, restore, restored int64
	for _, ev := range h.Events {
		id := ev.GetEventId()
		if id <= u.accepted || id >= u.completed {
			continue
		}
		switch typ := activityType(h, ev); {
		case typ == "Exec" && ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED && failed == 0:
			var out activities.ExecOutput
			decodePayloads(t, ev.GetActivityTaskCompletedEventAttributes().GetResult(), &out)
			if out.ExitCode != 0 || out.TimedOut {
				failed = id
			}
		case typ == "Restore" && ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && failed != 0 && restore == 0:
			restore = id
		case typ == "Restore" && ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED && restore != 0:
			restored = id
		}
	}
	switch {
	case failed == 0:
		t.Errorf("no Exec of the risky step (events %d-%d) answers a non-zero exit or a timeout", u.accepted, u.completed)
	case restore == 0:
		t.Errorf("no Restore scheduled after the failing Exec (event %d) within the risky step", failed)
	case restored == 0:
		t.Errorf("the Restore scheduled at event %d did not complete within the risky step", restore)
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

// versionMarkers counts the history's markers for one workflow.GetVersion
// change ID.
func versionMarkers(t *testing.T, h *historypb.History, changeID string) int {
	t.Helper()
	n := 0
	for _, ev := range h.Events {
		attrs := ev.GetMarkerRecordedEventAttributes()
		if attrs.GetMarkerName() != "Version" {
			continue
		}
		var id string
		decodePayloads(t, attrs.GetDetails()["change-id"], &id)
		if id == changeID {
			n++
		}
	}
	return n
}

// The current fixtures run the versioned code (the session records its
// limits); the v0 fixtures predate it, so replaying them exercises the
// code path a session started on the earlier version takes.
func TestReplay_FixturesCoverBothSidesOfTheConfigVersion(t *testing.T) {
	const changeID = "recorded-session-config"
	for _, p := range fixturePaths {
		if p.workflow != workflows.SessionWorkflowName {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			if n := versionMarkers(t, loadFixture(t, filepath.Join(fixtureDir, p.name+".json")), changeID); n != 1 {
				t.Errorf("current fixture has %d %q version markers, want 1", n, changeID)
			}
			if n := versionMarkers(t, loadFixture(t, filepath.Join(fixtureDir, legacyDir, p.name+".json")), changeID); n != 0 {
				t.Errorf("v0 fixture has %d %q version markers, want none", n, changeID)
			}
		})
	}
}
