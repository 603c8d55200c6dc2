package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// Activity options per kind of operation. Retries live here, not in the
// client: the activities classify errors (4xx non-retryable with a stable
// type, 429 with NextRetryDelay, which the server honours over the backoff).
const (
	// execMargin is added to a command's own timeout so the activity can
	// report the timeout (and the output so far) before Temporal times it out.
	execMargin       = 60 * time.Second
	execHeartbeat    = 30 * time.Second
	quickTimeout     = 2 * time.Minute
	streamTimeout    = 5 * time.Minute
	createBudget     = 10 * time.Minute
	deleteBudget     = 5 * time.Minute
	cleanupBudget    = 10 * time.Minute
	maxRetryInterval = 30 * time.Second
)

// nonRetryable are the activity error types no retry can fix.
var nonRetryable = []string{
	activities.ErrTypeNotFound,
	activities.ErrTypeConflict,
	activities.ErrTypeInvalidArgument,
	activities.ErrTypeUnauthorized,
	activities.ErrTypeExecLost,
}

func withOptions(ctx workflow.Context, o workflow.ActivityOptions) workflow.Context {
	return workflow.WithActivityOptions(ctx, o)
}

// createOptions retry within a budget long enough to ride out the Sprites
// create rate limit (about 10 a minute). WaitForCancellation makes a
// cancelled create wait until the activity has really stopped, so cleanup
// never deletes a sprite that a still-running create then makes.
func createOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    quickTimeout,
		ScheduleToCloseTimeout: createBudget,
		WaitForCancellation:    true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeConflict, activities.ErrTypeInvalidArgument, activities.ErrTypeUnauthorized},
		},
	}
}

// execOptions give the command its timeout plus a margin. A retry after a
// lost worker re-attaches to the running command (the activity's job), so a
// few attempts never run a command twice.
func execOptions(timeout time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: timeout + execMargin,
		HeartbeatTimeout:    execHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        maxRetryInterval,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: nonRetryable,
		},
	}
}

// quickOptions serve file reads and writes and service URL lookups.
func quickOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: quickTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        maxRetryInterval,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: nonRetryable,
		},
	}
}

// streamOptions serve checkpoint and restore, which read a stream to its end
// and can take tens of seconds; the activities heartbeat meanwhile, so a lost
// worker is noticed in HeartbeatTimeout, not StartToClose. Attempts are
// bounded: a saga's restore must finish (or taint the sprite) in bounded time.
func streamOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: streamTimeout,
		HeartbeatTimeout:    execHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        maxRetryInterval,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: nonRetryable,
		},
	}
}

// deleteOptions retry until the sprite is confirmed gone or the budget ends.
// Only what the activity itself marks non-retryable stops them early: a
// refused token or a request the API refuses (401/403, 409, other 4xx).
func deleteOptions(budget time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    quickTimeout,
		ScheduleToCloseTimeout: budget,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        maxRetryInterval,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidArgument},
		},
	}
}
