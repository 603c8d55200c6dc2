package worker

import (
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Register registers everything the worker runs on r: the session and
// reaper workflows under their stable names, the sprite activities and the
// reaper's activities. Tests use it to assemble their own worker.
func Register(r sdkworker.Registry, acts *activities.Activities, reaperActs *reaper.Activities) {
	r.RegisterWorkflowWithOptions(workflows.SessionWorkflow, workflow.RegisterOptions{Name: workflows.SessionWorkflowName})
	r.RegisterWorkflowWithOptions(reaper.ReaperWorkflow, workflow.RegisterOptions{Name: reaper.ReaperWorkflowName})
	r.RegisterActivity(acts)
	r.RegisterActivity(reaperActs)
}
