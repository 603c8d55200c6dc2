package worker

import (
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Register registers everything the worker runs on r: the session
// workflow (with sessionDefaults for the limits a session leaves zero; the
// zero value means the built-in defaults) and the reaper workflow under
// their stable names, the sprite activities and the reaper's activities.
// Tests use it to assemble their own worker.
func Register(r sdkworker.Registry, acts *activities.Activities, reaperActs *reaper.Activities, sessionDefaults workflows.SessionConfig) {
	r.RegisterWorkflowWithOptions(workflows.NewSessionWorkflow(sessionDefaults), workflow.RegisterOptions{Name: workflows.SessionWorkflowName})
	r.RegisterWorkflowWithOptions(reaper.ReaperWorkflow, workflow.RegisterOptions{Name: reaper.ReaperWorkflowName})
	r.RegisterActivity(acts)
	r.RegisterActivity(reaperActs)
}

// workerOptions are the SDK worker's options: the caps that protect the
// Sprites API and the stop timeout.
func (c Config) workerOptions(onFatal func(error)) sdkworker.Options {
	return sdkworker.Options{
		MaxConcurrentActivityExecutionSize: c.MaxConcurrentActivities,
		WorkerActivitiesPerSecond:          c.ActivitiesPerSecond,
		TaskQueueActivitiesPerSecond:       c.TaskQueueActivitiesPerSecond,
		WorkerStopTimeout:                  c.WorkerStopTimeout,
		OnFatalError:                       onFatal,
	}
}
