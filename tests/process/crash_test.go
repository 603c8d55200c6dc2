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

	const release = workflows.WorkspacePath + "/release"
	// Bounded by the exec's default timeout should the release never come.
	run := startRunningExec(ctx, t, s, "sigkill",
		"echo run >> runs.txt; echo started; until [ -e release ]; do sleep 0.1; done; echo finished; echo done >&2; exit 7")
	t.Logf("worker A heartbeated exec session %d", run.heartbeat.SessionID)

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
	run.assertNoAnswer(t)

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
		retry = pendingExec(ctx, s, run.sess.WorkflowID())
		return retry != nil && retry.GetAttempt() >= 2 &&
			retry.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
			strings.HasPrefix(retry.GetLastWorkerIdentity(), pidB)
	})
	t.Logf("worker B started attempt %d of the exec %v after the SIGKILL (%v after B started; last failure: %v)",
		retry.GetAttempt(), time.Since(killed).Round(time.Millisecond),
		time.Since(startedB).Round(time.Millisecond), retry.GetLastFailure().GetMessage())
	if _, err := s.sprites.WriteFile(ctx, run.provider, release, nil, 0); err != nil {
		t.Fatalf("writing the release file: %v", err)
	}

	resp := run.await(ctx, t)
	t.Logf("the exec answered %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	// The output printed before the crash is in the answer too: the attach
	// replays the session's output from its start.
	if resp.ExitCode != 7 || resp.Stdout != "started\nfinished\n" || resp.Stderr != "done\n" || resp.TimedOut {
		t.Fatalf("Exec answered %+v, want exit 7, stdout %q, stderr %q", resp, "started\nfinished\n", "done\n")
	}
	run.assertRanOnceOn(ctx, t, s, b)
	b.stopCleanly(t, "B", 30*time.Second+exitSlack)
	a.assertNoToken(t, s.token)
	b.assertNoToken(t, s.token)
}
