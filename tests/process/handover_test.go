package process

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// runsFile is where a hand-over test's command records each start.
const runsFile = workflows.WorkspacePath + "/runs.txt"

// execResult is the answer of an Exec update run in the background.
type execResult struct {
	resp workflows.ExecResponse
	err  error
}

// runningExec is an Exec update in flight on sprite "box" of a session,
// while its worker is about to go away.
type runningExec struct {
	sess      *starter.Session
	provider  string
	results   chan execResult
	heartbeat activities.ExecHeartbeat
}

// startRunningExec creates session id's sprite "box" and runs command as
// an Exec in the background. The command must start with
// `echo run >> runs.txt`. It returns once the command has written that line
// and the activity has heartbeated its remote session ID, which is what a
// retry re-attaches by. Files are read straight from localsprites: the
// session serialises operations on the sprite, so a ReadFile update would
// wait for the exec.
func startRunningExec(ctx context.Context, t *testing.T, s *stack, id, command string) *runningExec {
	t.Helper()
	sess := s.env.Starter.Session(id)
	if _, err := sess.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	r := &runningExec{
		sess:     sess,
		provider: workflows.ProviderName(s.env.Namespace, sess.ID(), "box"),
		results:  make(chan execResult, 1),
	}
	go func() {
		resp, err := sess.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: command})
		r.results <- execResult{resp, err}
	}()
	harness.WaitUntil(t, processTimeout, "the command to write runs.txt", func() bool {
		data, err := s.sprites.ReadFile(ctx, r.provider, runsFile)
		return err == nil && string(data) == "run\n"
	})
	harness.WaitUntil(t, processTimeout, "the exec to heartbeat its session ID", func() bool {
		pa := pendingExec(ctx, s, sess.WorkflowID())
		if pa == nil || pa.GetHeartbeatDetails() == nil {
			return false
		}
		err := converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &r.heartbeat)
		return err == nil && r.heartbeat.SessionID != 0
	})
	return r
}

// assertNoAnswer fails t if the exec has answered (no worker runs it).
func (r *runningExec) assertNoAnswer(t *testing.T) {
	t.Helper()
	select {
	case res := <-r.results:
		t.Fatalf("the exec answered while no worker ran: %+v %v", res.resp, res.err)
	default:
	}
}

// await returns the exec's answer, failing t on an error or when ctx ends.
func (r *runningExec) await(ctx context.Context, t *testing.T) workflows.ExecResponse {
	t.Helper()
	select {
	case res := <-r.results:
		if res.err != nil {
			t.Fatalf("Exec: %v", res.err)
		}
		return res.resp
	case <-ctx.Done():
		t.Fatal("the exec never answered after the next worker started")
	}
	return workflows.ExecResponse{}
}

// assertRanOnceOn checks the command ran exactly once (one line in
// runs.txt) and that the attempt that completed it was a retry on worker
// b; then it ends the session and checks no sprite is left.
func (r *runningExec) assertRanOnceOn(ctx context.Context, t *testing.T, s *stack, b *workerProc) {
	t.Helper()
	data, err := s.sprites.ReadFile(ctx, r.provider, runsFile)
	if err != nil {
		t.Fatalf("reading runs.txt: %v", err)
	}
	if string(data) != "run\n" {
		t.Fatalf("runs.txt holds %q: the command ran %d times", data, strings.Count(string(data), "run"))
	}
	by, attempt, err := execCompletion(ctx, s, r.sess.WorkflowID())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(by, strconv.Itoa(b.cmd.Process.Pid)+"@") || attempt < 2 {
		t.Fatalf("the exec completed by %q on attempt %d, want worker B (pid %d) on a retry", by, attempt, b.cmd.Process.Pid)
	}
	if _, err := r.sess.End(ctx, workflows.EndSessionRequest{}); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	if left, err := countSprites(ctx, s.sprites); err != nil || left != 0 {
		t.Fatalf("%d sprite(s) left after the session ended (%v)", left, err)
	}
}

// stopCleanly sends SIGTERM and expects exit 0 within timeout.
func (p *workerProc) stopCleanly(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	if code := p.waitExit(t, timeout); code != 0 {
		t.Fatalf("worker %s exited %d after SIGTERM, want 0", name, code)
	}
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
