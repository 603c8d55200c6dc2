package reaper

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// scheduleFake records schedule calls. The real server path is covered by
// the end-to-end tests in tests/.
type scheduleFake struct {
	client.Client
	createErr error
	created   []client.ScheduleOptions
	existing  client.ScheduleDescription
	updated   []*client.ScheduleUpdate
	updateErr error
}

func (f *scheduleFake) ScheduleClient() client.ScheduleClient { return scheduleClientFake{f} }

type scheduleClientFake struct{ *scheduleFake }

func (f scheduleClientFake) List(context.Context, client.ScheduleListOptions) (client.ScheduleListIterator, error) {
	return nil, errors.New("not used")
}

func (f *scheduleFake) Create(_ context.Context, o client.ScheduleOptions) (client.ScheduleHandle, error) {
	f.created = append(f.created, o)
	if f.createErr != nil {
		return nil, f.createErr
	}
	return &scheduleHandleFake{f: f, id: o.ID}, nil
}

func (f *scheduleFake) GetHandle(_ context.Context, id string) client.ScheduleHandle {
	return &scheduleHandleFake{f: f, id: id}
}

type scheduleHandleFake struct {
	client.ScheduleHandle
	f  *scheduleFake
	id string
}

func (h *scheduleHandleFake) Update(_ context.Context, o client.ScheduleUpdateOptions) error {
	if h.f.updateErr != nil {
		return h.f.updateErr
	}
	u, err := o.DoUpdate(client.ScheduleUpdateInput{Description: h.f.existing})
	if err != nil {
		return err
	}
	h.f.updated = append(h.f.updated, u)
	return nil
}

func checkAction(t *testing.T, a client.ScheduleAction, taskQueue string, grace time.Duration, dryRun bool) {
	t.Helper()
	wa, ok := a.(*client.ScheduleWorkflowAction)
	if !ok {
		t.Fatalf("action is %T, want a workflow action", a)
	}
	if wa.Workflow != ReaperWorkflowName || wa.TaskQueue != taskQueue || wa.ID == "" || wa.WorkflowRunTimeout <= 0 {
		t.Errorf("action = %+v", wa)
	}
	if len(wa.Args) != 1 {
		t.Fatalf("action args = %v", wa.Args)
	}
	in, ok := wa.Args[0].(ReaperInput)
	if !ok || in.GracePeriod != grace || in.DryRun != dryRun {
		t.Errorf("reaper input = %+v, want grace %v dry run %v", wa.Args[0], grace, dryRun)
	}
}

func TestEnsureSchedule_CreatesWithDefaultsAndSkipOverlap(t *testing.T) {
	f := &scheduleFake{}
	if err := EnsureSchedule(context.Background(), f, ScheduleConfig{}); err != nil {
		t.Fatal(err)
	}
	if len(f.created) != 1 || len(f.updated) != 0 {
		t.Fatalf("created %d, updated %d; want one create", len(f.created), len(f.updated))
	}
	o := f.created[0]
	if o.ID != DefaultScheduleID || o.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("schedule %q overlap %v", o.ID, o.Overlap)
	}
	if len(o.Spec.Intervals) != 1 || o.Spec.Intervals[0].Every != time.Minute {
		t.Errorf("spec = %+v, want every 1m", o.Spec)
	}
	checkAction(t, o.Action, workflows.DefaultTaskQueue, DefaultGracePeriod, false)
}

func TestEnsureSchedule_UpdatesExistingScheduleKeepingPause(t *testing.T) {
	f := &scheduleFake{
		createErr: temporal.ErrScheduleAlreadyRunning,
		existing: client.ScheduleDescription{Schedule: client.Schedule{
			Spec:   &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
			Action: &client.ScheduleWorkflowAction{Workflow: "OldReaper", TaskQueue: "old"},
			Policy: &client.SchedulePolicies{Overlap: enums.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
			State:  &client.ScheduleState{Paused: true, Note: "paused by operator"},
		}},
	}
	cfg := ScheduleConfig{ID: "reaper-x", Interval: 5 * time.Minute, TaskQueue: "tq", Grace: 3 * time.Minute, DryRun: true}
	if err := EnsureSchedule(context.Background(), f, cfg); err != nil {
		t.Fatal(err)
	}
	if len(f.updated) != 1 {
		t.Fatalf("updated %d times, want once", len(f.updated))
	}
	s := f.updated[0].Schedule
	if len(s.Spec.Intervals) != 1 || s.Spec.Intervals[0].Every != 5*time.Minute {
		t.Errorf("spec = %+v, want every 5m", s.Spec)
	}
	if s.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("overlap = %v, want skip", s.Policy.Overlap)
	}
	if !s.State.Paused {
		t.Error("an operator's pause was lifted")
	}
	checkAction(t, s.Action, "tq", 3*time.Minute, true)
}

func TestEnsureSchedule_ReportsOtherErrors(t *testing.T) {
	boom := errors.New("permission denied")
	t.Run("create", func(t *testing.T) {
		err := EnsureSchedule(context.Background(), &scheduleFake{createErr: boom}, ScheduleConfig{})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want it to wrap %v", err, boom)
		}
	})
	t.Run("update", func(t *testing.T) {
		f := &scheduleFake{createErr: temporal.ErrScheduleAlreadyRunning, updateErr: boom}
		err := EnsureSchedule(context.Background(), f, ScheduleConfig{})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want it to wrap %v", err, boom)
		}
	})
}
