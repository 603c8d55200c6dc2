package process

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// handOverTimeout bounds the wait for the retry after a crash: the server
// notices the lost worker only when the exec's heartbeat timeout (30 s,
// workflows/options.go) passes, then retries after the policy's first
// interval. Twice that and more, for a loaded CI machine.
const handOverTimeout = 3 * time.Minute

// A SIGKILL while an exec runs: the worker gets no chance to hand the
// command over, so the server retries the exec only once its heartbeat
// timeout has passed. The next process re-attaches, by the session ID the
// dead one heartbeated, to the command that is still running; the caller
// gets its whole output and exit code, and the command ran once.
//
// The command waits for a file the test writes once worker B has started
// the retry, rather than sleeping for a guessed time: it is certainly still
// running when B takes over, however long the hand-over takes.
func TestWorkerProcess_SIGKILLDuringExecTheNextProcessReattachesAndFinishesItOnce(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*processTimeout+handOverTimeout)
	defer cancel()

	addrA := freeAddr(t)
	a := startWorker(t, "A", addrA, s.workerEnv(addrA))
	a.waitStatus(t, "/readyz", http.StatusOK)

	sess := s.env.Starter.Session("sigkill")
	if _, err := sess.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	provider := workflows.ProviderName(s.env.Namespace, sess.ID(), "box")
	const (
		runs    = workflows.WorkspacePath + "/runs.txt"
		release = workflows.WorkspacePath + "/release"
	)
	type result struct {
		resp workflows.ExecResponse
		err  error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := sess.Exec(ctx, workflows.ExecRequest{
			SpriteName: "box",
			// Bounded by the exec's default timeout should the release
			// never come.
			Command: "echo run >> runs.txt; echo started; until [ -e release ]; do sleep 0.1; done; echo finished; echo done >&2; exit 7",
		})
		results <- result{resp, err}
	}()

	// The command has started (it wrote its line) and the activity has
	// heartbeated its remote session ID, which is what a retry re-attaches
	// by. Files are read straight from localsprites: the session serialises
	// operations on the sprite, so a ReadFile update would wait for the exec.
	harness.WaitUntil(t, processTimeout, "the command to write runs.txt", func() bool {
		data, err := s.sprites.ReadFile(ctx, provider, runs)
		return err == nil && string(data) == "run\n"
	})
	var hb activities.ExecHeartbeat
	harness.WaitUntil(t, processTimeout, "the exec to heartbeat its session ID", func() bool {
		pa := pendingExec(ctx, s, sess.WorkflowID())
		if pa == nil || pa.GetHeartbeatDetails() == nil {
			return false
		}
		err := converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &hb)
		return err == nil && hb.SessionID != 0
	})
	t.Logf("worker A heartbeated exec session %d", hb.SessionID)

	// A crash: no stop channel, no hand-over, no last heartbeat.
	killed := time.Now()
	a.signal(t, syscall.SIGKILL)
	select {
	case <-a.done:
	case <-time.After(exitSlack):
		t.Fatalf("worker A still running %v after SIGKILL", exitSlack)
	}
	var exitErr *exec.ExitError
	if !errors.As(a.waitErr, &exitErr) {
		t.Fatalf("worker A ended with %v, want death by SIGKILL", a.waitErr)
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("worker A ended with %v, want death by SIGKILL", a.waitErr)
	}
	select {
	case r := <-results:
		t.Fatalf("the exec answered while no worker ran: %+v %v", r.resp, r.err)
	default:
	}

	addrB := freeAddr(t)
	b := startWorker(t, "B", addrB, s.workerEnv(addrB))
	startedB := time.Now()
	pidB := strconv.Itoa(b.cmd.Process.Pid) + "@"

	// The retry reaches B once the heartbeat timeout has passed. Until then
	// the command must keep running: release it only after B took it over.
	var retry *workflowpb.PendingActivityInfo
	harness.WaitUntil(t, handOverTimeout, "worker B to start a retry of the exec", func() bool {
		if b.exited() {
			t.Fatalf("worker B exited (%v) before the retry reached it", b.waitErr)
		}
		retry = pendingExec(ctx, s, sess.WorkflowID())
		return retry != nil && retry.GetAttempt() >= 2 &&
			retry.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
			strings.HasPrefix(retry.GetLastWorkerIdentity(), pidB)
	})
	t.Logf("worker B started attempt %d of the exec %v after the SIGKILL (%v after B started; last failure: %v)",
		retry.GetAttempt(), time.Since(killed).Round(time.Millisecond),
		time.Since(startedB).Round(time.Millisecond), retry.GetLastFailure().GetMessage())
	if _, err := s.sprites.WriteFile(ctx, provider, release, nil, 0); err != nil {
		t.Fatalf("writing the release file: %v", err)
	}

	var r result
	select {
	case r = <-results:
	case <-ctx.Done():
		t.Fatal("the exec never answered after worker B took it over")
	}
	t.Logf("the exec answered %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	if r.err != nil {
		t.Fatalf("Exec: %v", r.err)
	}
	// The output printed before the crash is in the answer too: the attach
	// replays the session's output from its start.
	if r.resp.ExitCode != 7 || r.resp.Stdout != "started\nfinished\n" || r.resp.Stderr != "done\n" || r.resp.TimedOut {
		t.Fatalf("Exec answered %+v, want exit 7, stdout %q, stderr %q", r.resp, "started\nfinished\n", "done\n")
	}

	// Ran exactly once: one line, and the attempt that completed was B's.
	data, err := s.sprites.ReadFile(ctx, provider, runs)
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
	if !strings.HasPrefix(by, pidB) || attempt < 2 {
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
	if code := b.waitExit(t, 30*time.Second+exitSlack); code != 0 {
		t.Fatalf("worker B exited %d after SIGTERM, want 0", code)
	}
	a.assertNoToken(t, s.token)
	b.assertNoToken(t, s.token)
}

// pendingExec returns the session's pending Exec activity, or nil when
// there is none or the workflow cannot be described.
func pendingExec(ctx context.Context, s *stack, workflowID string) *workflowpb.PendingActivityInfo {
	d, err := s.env.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil
	}
	for _, pa := range d.GetPendingActivities() {
		if pa.GetActivityType().GetName() == "Exec" {
			return pa
		}
	}
	return nil
}
