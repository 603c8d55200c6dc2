package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// waitFor waits for ch or fails the test after a generous deadline.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// heartbeats records the ExecHeartbeat details the environment sends.
type heartbeats struct {
	mu   sync.Mutex
	seen []ExecHeartbeat
	ch   chan ExecHeartbeat
}

func recordHeartbeats(env *testsuite.TestActivityEnvironment) *heartbeats {
	h := &heartbeats{ch: make(chan ExecHeartbeat, 64)}
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var hb ExecHeartbeat
		if details.HasValues() && details.Get(&hb) == nil {
			h.mu.Lock()
			h.seen = append(h.seen, hb)
			h.mu.Unlock()
			select {
			case h.ch <- hb:
			default:
			}
		}
	})
	return h
}

func execOutput(t *testing.T, env *testsuite.TestActivityEnvironment, acts *Activities, in ExecInput) ExecOutput {
	t.Helper()
	val, err := env.ExecuteActivity(acts.Exec, in)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	var out ExecOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExec_ReturnsOutputExitCodeAndSendsTheRequest(t *testing.T) {
	f := newFakeAPI(t)
	stdinSeen := make(chan string, 1)
	f.exec.onStart = func(s *execSocket) {
		s.info(42)
		stdinSeen <- waitFor(t, s.stdin, "stdin EOF")
		s.out(sprites.StreamStdout, "hello\n")
		s.out(sprites.StreamStderr, "warning\n")
		s.exit(3)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)

	out := execOutput(t, env, acts, ExecInput{
		ProviderName: "ss-abc-main", Argv: []string{"sh", "-lc", "cat; exit 3"},
		Env: map[string]string{"ZED": "last", "ALPHA": "1"}, Dir: "/home/sprite/work", Stdin: "input text",
		Timeout: time.Minute,
	})
	if out.ExitCode != 3 || out.Stdout != "hello\n" || out.Stderr != "warning\n" || out.SessionID != 42 ||
		out.TimedOut || out.StdoutTruncated || out.StderrTruncated {
		t.Errorf("output = %+v", out)
	}
	if got := <-stdinSeen; got != "input text" {
		t.Errorf("stdin = %q", got)
	}
	q := f.exec.startQueries()[0]
	// Variables add to the default environment (the API's env parameter
	// would replace it), sorted for a stable command line.
	if got := q["cmd"]; !slices.Equal(got, []string{"env", "--", "ALPHA=1", "ZED=last", "sh", "-lc", "cat; exit 3"}) {
		t.Errorf("cmd = %q", got)
	}
	if got, ok := q["env"]; ok {
		t.Errorf("env parameter sent (%q): it would replace PATH and HOME", got)
	}
	if q.Get("dir") != "/home/sprite/work" || q.Get("stdin") != "true" {
		t.Errorf("dir = %q stdin = %q", q.Get("dir"), q.Get("stdin"))
	}
	if got := q.Get("max_run_after_disconnect"); got != "1m0s" {
		t.Errorf("max_run_after_disconnect = %q, want 1m0s (room to re-attach after a crash)", got)
	}
}

func TestExec_CapsEachStreamAndFlagsTruncation(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(1)
		s.out(sprites.StreamStdout, "0123456789")
		s.out(sprites.StreamStdout, "abcdef")
		s.out(sprites.StreamStderr, "ok")
		s.exit(0)
	}
	for _, tc := range []struct {
		name       string
		requested  int
		maxCap     int
		wantStdout string
	}{
		{"requested cap", 5, 0, "01234"},
		{"bounded by MaxOutputCap", 1000, 12, "0123456789ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acts := New(f.client(), Options{MaxOutputCap: tc.maxCap})
			env := newActivityEnv(t, acts)
			out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"gen"}, OutputCap: tc.requested})
			if out.Stdout != tc.wantStdout || !out.StdoutTruncated || out.Stderr != "ok" || out.StderrTruncated || out.ExitCode != 0 {
				t.Errorf("output = %+v, want stdout %q truncated, stderr whole", out, tc.wantStdout)
			}
		})
	}
}

func TestExec_CapsTheEncodedSizeOfEachStream(t *testing.T) {
	// Each '<' and control byte takes six bytes in a JSON payload: a raw cap
	// alone would let 256 KiB of them encode to 1.5 MiB per stream.
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(1)
		s.out(sprites.StreamStdout, strings.Repeat("<", 100))
		s.out(sprites.StreamStderr, "é"+strings.Repeat("\x01", 20))
		s.exit(0)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"gen"}, OutputCap: 63})
	for _, s := range []struct {
		name      string
		text      string
		truncated bool
		want      string
	}{
		{"stdout", out.Stdout, out.StdoutTruncated, strings.Repeat("<", 10)},
		{"stderr", out.Stderr, out.StderrTruncated, "é" + strings.Repeat("\x01", 10)},
	} {
		b, err := json.Marshal(s.text)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)-2 > 63 || s.text != s.want || !s.truncated {
			t.Errorf("%s = %q (%d bytes as JSON, truncated %v), want %q flagged truncated", s.name, s.text, len(b)-2, s.truncated, s.want)
		}
	}
}

func TestExec_OutputIsValidUTF8(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(1)
		s.out(sprites.StreamStdout, "a\xffb")
		s.out(sprites.StreamStderr, "xxxxé")
		s.exit(0)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	// The cap of 5 bytes fits "a", U+FFFD (3 bytes) and "b", and cuts é.
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"gen"}, OutputCap: 5})
	if out.Stdout != "a\uFFFDb" || out.StdoutTruncated || out.Stderr != "xxxx" || !out.StderrTruncated {
		t.Errorf("stdout = %q (truncated %v) stderr = %q (truncated %v)", out.Stdout, out.StdoutTruncated, out.Stderr, out.StderrTruncated)
	}
}

func TestExec_HeartbeatsTheSessionIDWhileRunning(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{HeartbeatInterval: 20 * time.Millisecond})
	env := newActivityEnv(t, acts)
	hbs := recordHeartbeats(env)
	f.exec.onStart = func(s *execSocket) {
		s.info(77)
		// The command ends only once its session is in a heartbeat.
		hb := waitFor(t, hbs.ch, "a heartbeat")
		if hb.SessionID != 77 || hb.StartedAt.IsZero() {
			t.Errorf("heartbeat = %+v, want session 77 and a start time", hb)
		}
		s.exit(0)
	}
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sleep", "1"}})
	if out.SessionID != 77 || out.ExitCode != 0 {
		t.Errorf("output = %+v", out)
	}
}

// execInWorkflow runs Exec as a workflow's activity with a 1s heartbeat
// timeout and the given attempts, which the activity environment cannot set.
func execInWorkflow(t *testing.T, acts *Activities, in ExecInput, attempts int32) (ExecOutput, error) {
	t.Helper()
	run := func(ctx workflow.Context) (ExecOutput, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			HeartbeatTimeout:    time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: attempts},
		})
		var out ExecOutput
		err := workflow.ExecuteActivity(ctx, acts.Exec, in).Get(ctx, &out)
		return out, err
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(acts)
	env.RegisterWorkflow(run)
	env.ExecuteWorkflow(run)
	if err := env.GetWorkflowError(); err != nil {
		return ExecOutput{}, err
	}
	var out ExecOutput
	err := env.GetWorkflowResult(&out)
	return out, err
}

// sleepThen waits d, as a slow command or a slow service does, unless the
// socket goes first.
func sleepThen(s *execSocket, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-s.ctx.Done():
		return false
	}
}

func TestExec_HeartbeatsWithinTheAttemptsHeartbeatTimeoutWhateverTheInterval(t *testing.T) {
	t.Parallel() // each waits out a slow command in real time
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(5)
		// The command runs for several heartbeat timeouts.
		if sleepThen(s, 2500*time.Millisecond) {
			s.exit(0)
		}
	}
	// An interval far longer than the heartbeat timeout the workflow asks for.
	acts := New(f.client(), Options{HeartbeatInterval: time.Minute})
	out, err := execInWorkflow(t, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"long"}}, 1)
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("exec = %+v, %v; want it to finish without a heartbeat timeout", out, err)
	}
}

func TestExec_HeartbeatsWhileTheSessionIsNotNamedYet(t *testing.T) {
	t.Parallel() // each waits out a slow command in real time
	// A slow start (a cold sprite, a busy service) must not look like a dead
	// worker: the retry would start the command a second time.
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		if sleepThen(s, 2500*time.Millisecond) {
			s.info(6)
			s.exit(0)
		}
	}
	acts := New(f.client(), Options{HeartbeatInterval: 100 * time.Millisecond})
	out, err := execInWorkflow(t, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"once"}}, 2)
	if err != nil || out.ExitCode != 0 {
		t.Errorf("exec = %+v, %v", out, err)
	}
	if starts, _, _ := f.exec.counts(); starts != 1 {
		t.Errorf("the command was started %d times, want once", starts)
	}
}

func TestExec_FirstHeartbeatCarriesTheSessionIDWhenNothingPressesForOne(t *testing.T) {
	// Without a heartbeat timeout to beat, an attempt must not heartbeat
	// before the session is named: the SDK would hold back the heartbeat
	// that names it, and a crash meanwhile would run the command twice.
	f := newFakeAPI(t)
	acts := New(f.client(), Options{HeartbeatInterval: 10 * time.Millisecond})
	env := newActivityEnv(t, acts)
	hbs := recordHeartbeats(env)
	f.exec.onStart = func(s *execSocket) {
		if sleepThen(s, 200*time.Millisecond) {
			s.info(8)
			waitFor(t, hbs.ch, "a heartbeat")
			s.exit(0)
		}
	}
	execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"slow-start"}})
	hbs.mu.Lock()
	defer hbs.mu.Unlock()
	if len(hbs.seen) == 0 || hbs.seen[0].SessionID != 8 {
		t.Errorf("heartbeats %+v: the first must name session 8", hbs.seen)
	}
}

func TestExec_RetryWithHeartbeatDetailsAttachesInsteadOfStarting(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		t.Error("the command was started again")
		s.exit(0)
	}
	f.exec.onAttach = func(s *execSocket) {
		s.info(s.id)
		s.out(sprites.StreamStdout, "line 1\nline 2\n")
		s.exit(0)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	started := time.Now().Add(-2 * time.Second)
	env.SetHeartbeatDetails(ExecHeartbeat{SessionID: 99, StartedAt: started})

	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sh", "-c", "echo once >> f"}})
	if out.Stdout != "line 1\nline 2\n" || out.ExitCode != 0 || out.SessionID != 99 {
		t.Errorf("output = %+v", out)
	}
	if out.DurationMS < 2000 {
		t.Errorf("DurationMS = %d, want it measured from the first attempt's start", out.DurationMS)
	}
	starts, attaches, _ := f.exec.counts()
	if ids := f.exec.attachIDs(); starts != 0 || attaches != 1 || ids[0] != 99 {
		t.Errorf("starts = %d attaches = %v, want only an attach to 99", starts, ids)
	}
}

func TestExec_AttachSessionIDInputAttaches(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onAttach = func(s *execSocket) {
		s.info(s.id)
		s.exit(5)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", AttachSessionID: 12})
	starts, attaches, _ := f.exec.counts()
	if out.ExitCode != 5 || starts != 0 || attaches != 1 {
		t.Errorf("output = %+v, starts %d, attaches %d", out, starts, attaches)
	}
}

func TestExec_SocketDroppedBeforeSessionInfoIsExecLost(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) { s.drop() }
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"touch", "x"}})
	appError(t, err, ErrTypeExecLost, false)
	starts, attaches, _ := f.exec.counts()
	if starts != 1 || attaches != 0 {
		t.Errorf("starts = %d attaches = %d, want exactly one start and no re-run", starts, attaches)
	}
}

func TestExec_SocketDroppedAfterSessionInfoReattaches(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(5)
		s.out(sprites.StreamStdout, "part ")
		s.drop()
	}
	f.exec.onAttach = func(s *execSocket) {
		s.info(s.id)
		// The attach replays the session's output from its start.
		s.out(sprites.StreamStdout, "part rest")
		s.exit(0)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"gen"}})
	if out.Stdout != "part rest" || out.ExitCode != 0 {
		t.Errorf("output = %+v", out)
	}
	starts, attaches, _ := f.exec.counts()
	if ids := f.exec.attachIDs(); starts != 1 || attaches != 1 || ids[0] != 5 {
		t.Errorf("starts = %d attaches = %v", starts, ids)
	}
}

func TestExec_ReattachesBoundedThenFailsRetryably(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(8)
		s.drop()
	}
	f.exec.onAttach = func(s *execSocket) {
		s.info(s.id)
		s.drop()
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	hbs := recordHeartbeats(env)
	_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"gen"}})
	appError(t, err, ErrTypeUnavailable, true)
	starts, attaches, _ := f.exec.counts()
	if starts != 1 || attaches != maxReattach-1 {
		t.Errorf("starts = %d attaches = %d, want 1 and %d", starts, attaches, maxReattach-1)
	}
	hbs.mu.Lock()
	defer hbs.mu.Unlock()
	if len(hbs.seen) == 0 || hbs.seen[0].SessionID != 8 {
		t.Errorf("heartbeats = %+v, want the session recorded for the next attempt", hbs.seen)
	}
}

func TestExec_AttachToGoneSessionIsExecLost(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.attachStatus = http.StatusNotFound
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	env.SetHeartbeatDetails(ExecHeartbeat{SessionID: 11})
	_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"gen"}})
	appError(t, err, ErrTypeExecLost, false)
	starts, attaches, _ := f.exec.counts()
	if starts != 0 || attaches != 1 {
		t.Errorf("starts = %d attaches = %d, want one attach and no start", starts, attaches)
	}
}

func TestExec_RefusedStartIsClassified(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		wantType  string
		retryable bool
	}{
		{"missing sprite", http.StatusNotFound, `{"error":"sprite not found"}`, ErrTypeNotFound, false},
		{"service busy", http.StatusServiceUnavailable, `{"error":"sprite_starting","retry_after_seconds":1}`, ErrTypeUnavailable, true},
		{"rate limited", http.StatusTooManyRequests, `{"error":"slow","retry_after_seconds":2}`, ErrTypeRateLimited, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.queue("GET /v1/sprites/ss-abc-main/exec", tc.status, tc.body)
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"true"}})
			appError(t, err, tc.wantType, tc.retryable)
		})
	}
}

func TestExec_RejectsEmptyArgvAndBadEnv(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main"})
	appError(t, err, ErrTypeInvalidArgument, false)
	_, err = env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"true"}, Env: map[string]string{"A=B": "c"}})
	appError(t, err, ErrTypeInvalidArgument, false)
	if starts, _, _ := f.exec.counts(); starts != 0 {
		t.Errorf("%d starts for bad input", starts)
	}
}

func TestExec_TimeoutKillsTheSession(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(3)
		s.out(sprites.StreamStdout, "working\n")
		waitFor(t, f.exec.killed, "the kill")
		s.exit(137)
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sleep", "infinity"}, Timeout: 200 * time.Millisecond})
	if !out.TimedOut || out.ExitCode != 137 || out.Stdout != "working\n" || out.DurationMS < 200 {
		t.Errorf("output = %+v, want timed out with exit 137 and the output so far", out)
	}
	if kills := f.exec.killCalls(); len(kills) != 1 || kills[0].id != 3 || kills[0].signal != "SIGKILL" {
		t.Errorf("kills = %+v, want one SIGKILL of session 3", kills)
	}
}

func TestExec_TimeoutWithoutExitFrameReportsUnknownCode(t *testing.T) {
	f := newFakeAPI(t)
	f.exec.onStart = func(s *execSocket) {
		s.info(4)
		waitFor(t, f.exec.killed, "the kill")
		s.drop()
	}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sleep", "infinity"}, Timeout: 100 * time.Millisecond})
	if !out.TimedOut || out.ExitCode != -1 {
		t.Errorf("output = %+v, want timed out with exit -1", out)
	}
}

// TestExec_CancellationKillsOnlyWhenTheWorkflowAsked cancels the activity's
// context the way the SDK does: with a *temporal.CanceledError cause when
// the workflow cancels, with a plain cause when the worker stops.
func TestExec_CancellationKillsOnlyWhenTheWorkflowAsked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cause    error
		wantKill bool
	}{
		{"workflow cancel kills", temporal.NewCanceledError(), true},
		{"worker stop leaves it running", errors.New("worker stopping"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			release := make(chan struct{})
			f.exec.onStart = func(s *execSocket) {
				s.info(21)
				select {
				case <-release:
				case <-s.ctx.Done():
				}
			}
			t.Cleanup(func() { close(release) })
			acts := New(f.client(), Options{HeartbeatInterval: 20 * time.Millisecond})
			env := newActivityEnv(t, acts)
			bg, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			env.SetWorkerOptions(worker.Options{BackgroundActivityContext: bg})
			hbs := recordHeartbeats(env)
			go func() {
				waitFor(t, hbs.ch, "the session heartbeat")
				cancel(tc.cause)
			}()
			_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sleep", "infinity"}})
			if err == nil {
				t.Fatal("Exec succeeded after cancellation")
			}
			kills := f.exec.killCalls()
			if tc.wantKill && (len(kills) != 1 || kills[0].id != 21) {
				t.Errorf("kills = %+v, want session 21 killed", kills)
			}
			if !tc.wantKill && len(kills) != 0 {
				t.Errorf("kills = %+v, want the command left running for a re-attach", kills)
			}
		})
	}
}
