package reaper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// ScheduleConfig describes the schedule that runs the reaper. Zero fields
// take the defaults.
type ScheduleConfig struct {
	// ID names the schedule (default DefaultScheduleID); the reaper's
	// workflow IDs start with it.
	ID string
	// Interval between runs (default DefaultInterval).
	Interval time.Duration
	// TaskQueue the reaper runs on (default workflows.DefaultTaskQueue).
	TaskQueue string
	// Grace is the reaper's grace period (default DefaultGracePeriod).
	Grace time.Duration
	// DryRun makes every run report only.
	DryRun bool
	// RunTimeout bounds one reaper run on the server (default 30m), so that
	// a stuck run cannot block the schedule for ever under the skip policy.
	RunTimeout time.Duration
}

func (c ScheduleConfig) withDefaults() ScheduleConfig {
	if c.ID == "" {
		c.ID = DefaultScheduleID
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.TaskQueue == "" {
		c.TaskQueue = workflows.DefaultTaskQueue
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGracePeriod
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = 30 * time.Minute
	}
	return c
}

// EnsureSchedule creates the reaper's schedule, or, when it exists already
// (another worker, an earlier start), updates its spec, action and overlap
// policy to cfg. It is safe to call from every worker at every start. A
// schedule an operator paused stays paused.
func EnsureSchedule(ctx context.Context, c client.Client, cfg ScheduleConfig) error {
	cfg = cfg.withDefaults()
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.Interval}}}
	action := &client.ScheduleWorkflowAction{
		ID:                 cfg.ID,
		Workflow:           ReaperWorkflowName,
		Args:               []any{ReaperInput{GracePeriod: cfg.Grace, DryRun: cfg.DryRun}},
		TaskQueue:          cfg.TaskQueue,
		WorkflowRunTimeout: cfg.RunTimeout,
	}
	sc := c.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:      cfg.ID,
		Spec:    spec,
		Action:  action,
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("creating reaper schedule %q: %w", cfg.ID, err)
	}
	err = sc.GetHandle(ctx, cfg.ID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec = &spec
			s.Action = action
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.Overlap = enums.SCHEDULE_OVERLAP_POLICY_SKIP
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("updating reaper schedule %q: %w", cfg.ID, err)
	}
	return nil
}
