package harness

import (
	"testing"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/worker"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// StartWorker starts a fresh worker on TaskQueue with every workflow and
// activity registered (worker.Register), as a restarted worker process
// would. It fails t when a worker of this Env is already running.
func (e *Env) StartWorker(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.worker != nil {
		t.Fatalf("harness: StartWorker: a worker is already running on %s", e.TaskQueue)
	}
	w := sdkworker.New(e.Client, e.TaskQueue, e.cfg.workerOptions)
	worker.Register(w,
		activities.New(e.Sprites, e.cfg.activities),
		reaper.NewActivities(e.Sprites, e.Client, e.Namespace),
		workflows.SessionConfig{})
	if err := w.Start(); err != nil {
		t.Fatalf("harness: starting worker on %s: %v", e.TaskQueue, err)
	}
	e.worker = w
}

// StopWorker stops the running worker, as a crash or a shutdown would:
// its running activities are cancelled at once (unless WithWorkerOptions set
// a WorkerStopTimeout) and Temporal retries them on the next worker. It does
// nothing when no worker runs.
func (e *Env) StopWorker() {
	e.mu.Lock()
	w := e.worker
	e.worker = nil
	e.mu.Unlock()
	if w != nil {
		w.Stop()
	}
}
