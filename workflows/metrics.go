package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// Domain metrics the session workflow emits through workflow.GetMetricsHandler
// (replay-safe: nothing is recorded while replaying). The names are stable:
// dashboards and alerts use them. Each name always carries the same tag keys
// (on top of the SDK's own namespace, task_queue, workflow_type...), because
// a Prometheus handler rejects one name with different label sets.
//
//	sprite_sessions_session_started   counter                      a session's first run started
//	sprite_sessions_session_ended     counter  reason              a session closed (EndReason*)
//	sprite_sessions_continue_as_new   counter                      a run continued as new
//	sprite_sessions_update            counter  update, outcome     an update finished: ok | failed | rejected | duplicate | continuing
//	sprite_sessions_risky_step        counter  outcome             success | restored | tainted | checkpoint_failed
//	sprite_sessions_cleanup_sprite    counter  outcome             cleanup of one sprite: deleted | failed
const (
	metricSessionStarted = "sprite_sessions_session_started"
	metricSessionEnded   = "sprite_sessions_session_ended"
	metricContinueAsNew  = "sprite_sessions_continue_as_new"
	metricUpdate         = "sprite_sessions_update"
	metricRiskyStep      = "sprite_sessions_risky_step"
	metricCleanupSprite  = "sprite_sessions_cleanup_sprite"
)

// Outcome tag values.
const (
	outcomeOK        = "ok"
	outcomeFailed    = "failed"
	outcomeRejected  = "rejected"
	outcomeDuplicate = "duplicate"
	// outcomeContinuing is a rejection the caller retries on the next run
	// (ErrTypeContinuing), kept apart from real rejections.
	outcomeContinuing = "continuing"

	outcomeSuccess          = "success"
	outcomeRestored         = "restored"
	outcomeTainted          = "tainted"
	outcomeCheckpointFailed = "checkpoint_failed"

	outcomeDeleted = "deleted"
)

func count(ctx workflow.Context, name string, tags map[string]string) {
	h := workflow.GetMetricsHandler(ctx)
	if len(tags) > 0 {
		h = h.WithTags(tags)
	}
	h.Counter(name).Inc(1)
}

func countUpdate(ctx workflow.Context, update, outcome string) {
	count(ctx, metricUpdate, map[string]string{"update": update, "outcome": outcome})
}
