package process

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
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

	sess := s.env.Starter.Session("sigterm")
	if _, err := sess.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	type result struct {
		resp workflows.ExecResponse
		err  error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := sess.Exec(ctx, workflows.ExecRequest{
			SpriteName: "box",
			Command:    "echo run >> runs.txt; sleep 8; echo finished",
		})
		results <- result{resp, err}
	}()

	// The command has started (it wrote its line) and the activity has
	// heartbeated its remote session ID, which is what a retry re-attaches
	// by. Read the file straight from localsprites: the session serialises
	// operations on the sprite, so a ReadFile update would wait for the exec.
	provider := workflows.ProviderName(s.env.Namespace, sess.ID(), "box")
	harness.WaitUntil(t, processTimeout, "the command to write runs.txt", func() bool {
		data, err := s.sprites.ReadFile(ctx, provider, workflows.WorkspacePath+"/runs.txt")
		return err == nil && string(data) == "run\n"
	})
	harness.WaitUntil(t, processTimeout, "the exec to heartbeat its session ID", func() bool {
		d, err := s.env.Client.DescribeWorkflowExecution(ctx, sess.WorkflowID(), "")
		if err != nil {
			return false
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "Exec" && pa.GetHeartbeatDetails() != nil {
				return true
			}
		}
		return false
	})

	signalled := time.Now()
	a.signal(t, syscall.SIGTERM)
	if code := a.waitExit(t, stopTimeout+exitSlack); code != 0 {
		t.Fatalf("worker A exited %d after SIGTERM, want 0", code)
	}
	t.Logf("worker A exited 0 %v after SIGTERM (stop timeout %v)", time.Since(signalled).Round(time.Millisecond), stopTimeout)
	select {
	case r := <-results:
		t.Fatalf("the exec answered while no worker ran: %+v %v", r.resp, r.err)
	default:
	}

	addrB := freeAddr(t)
	b := startWorker(t, "B", addrB, s.workerEnv(addrB, extra))
	startedB := time.Now()
	var r result
	select {
	case r = <-results:
	case <-ctx.Done():
		t.Fatal("the exec never answered after worker B started")
	}
	t.Logf("the exec answered %v after worker B started", time.Since(startedB).Round(time.Millisecond))
	if r.err != nil {
		t.Fatalf("Exec: %v", r.err)
	}
	if r.resp.ExitCode != 0 || r.resp.Stdout != "finished\n" {
		t.Fatalf("Exec answered exit %d stdout %q, want 0 %q", r.resp.ExitCode, r.resp.Stdout, "finished\n")
	}

	// Ran exactly once: one line, and the attempt that completed was B's.
	data, err := s.sprites.ReadFile(ctx, provider, workflows.WorkspacePath+"/runs.txt")
	if err != nil {
		t.Fatalf("reading runs.txt: %v", err)
	}
	if string(data) != "run\n" {
		t.Fatalf("runs.txt holds %q: the command ran %d times", data, strings.Count(string(data), "run"))
	}
	by, attempt, err := execCompletion(ctx, s, sess.WorkflowID())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(by, strconv.Itoa(b.cmd.Process.Pid)+"@") || attempt < 2 {
		t.Fatalf("the exec completed by %q on attempt %d, want worker B (pid %d) on a retry", by, attempt, b.cmd.Process.Pid)
	}

	if _, err := sess.End(ctx, workflows.EndSessionRequest{}); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	left, err := countSprites(ctx, s.sprites)
	if err != nil || left != 0 {
		t.Fatalf("%d sprite(s) left after the session ended (%v)", left, err)
	}
	b.signal(t, syscall.SIGTERM)
	if code := b.waitExit(t, stopTimeout+exitSlack); code != 0 {
		t.Fatalf("worker B exited %d after SIGTERM, want 0", code)
	}
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
