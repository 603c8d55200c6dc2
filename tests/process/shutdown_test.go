package process

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// stopTimeout is the SPRITE_SESSIONS_WORKER_STOP_TIMEOUT of the shutdown
// test: shorter than the command, so shutdown interrupts it.
const stopTimeout = 2 * time.Second

// exitSlack is how long past the stop timeout a stopping process may take
// to close its connections and exit: not a speed target, a hang detector.
const exitSlack = 20 * time.Second

// A SIGTERM while an exec runs: the process exits 0 once the stop timeout
// has passed; the next process re-attaches to the command, which ran once,
// and the caller gets its result.
func TestWorkerProcess_SIGTERMDuringExecExitsZeroAndTheNextProcessFinishesItOnce(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*processTimeout)
	defer cancel()
	extra := "SPRITE_SESSIONS_WORKER_STOP_TIMEOUT=" + stopTimeout.String()

	addrA := freeAddr(t)
	a := startWorker(t, "A", addrA, s.workerEnv(addrA, extra))
	a.waitStatus(t, "/readyz", http.StatusOK)

	run := startRunningExec(ctx, t, s, "sigterm", "echo run >> runs.txt; sleep 8; echo finished")

	signalled := time.Now()
	a.signal(t, syscall.SIGTERM)
	if code := a.waitExit(t, stopTimeout+exitSlack); code != 0 {
		t.Fatalf("worker A exited %d after SIGTERM, want 0", code)
	}
	t.Logf("worker A exited 0 %v after SIGTERM (stop timeout %v)", time.Since(signalled).Round(time.Millisecond), stopTimeout)
	run.assertNoAnswer(t)

	addrB := freeAddr(t)
	b := startWorker(t, "B", addrB, s.workerEnv(addrB, extra))
	startedB := time.Now()
	resp := run.await(ctx, t)
	t.Logf("the exec answered %v after worker B started", time.Since(startedB).Round(time.Millisecond))
	if resp.ExitCode != 0 || resp.Stdout != "finished\n" {
		t.Fatalf("Exec answered exit %d stdout %q, want 0 %q", resp.ExitCode, resp.Stdout, "finished\n")
	}
	run.assertRanOnceOn(ctx, t, s, b)
	b.stopCleanly(t, "B", stopTimeout+exitSlack)
	a.assertNoToken(t, s.token)
	b.assertNoToken(t, s.token)
}

// execCompletion finds the Exec activity in the session's history and
// returns the identity of the worker that completed it and the attempt.
func execCompletion(ctx context.Context, s *stack, workflowID string) (identity string, attempt int32, err error) {
	it := s.env.Client.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	execScheduled := map[int64]bool{}
	started := map[int64]int32{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", 0, fmt.Errorf("reading history: %w", err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "Exec" {
				execScheduled[ev.GetEventId()] = true
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := ev.GetActivityTaskStartedEventAttributes()
			started[a.GetScheduledEventId()] = a.GetAttempt()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := ev.GetActivityTaskCompletedEventAttributes()
			if execScheduled[a.GetScheduledEventId()] {
				return a.GetIdentity(), started[a.GetScheduledEventId()], nil
			}
		}
	}
	return "", 0, errors.New("no completed Exec activity in the history")
}

func countSprites(ctx context.Context, c *sprites.Client) (int, error) {
	n := 0
	for _, err := range c.AllSprites(ctx, sprites.ListOptions{}) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
