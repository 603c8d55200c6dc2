package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// fakeSprites stands in for the Sprites API behind the mocked activities: it
// keeps which sprites exist, which checkpoints they have, and a log of calls,
// so tests can assert what the workflow did to the provider.
type fakeSprites struct {
	env *testsuite.TestWorkflowEnvironment

	mu          sync.Mutex
	alive       map[string]bool            // provider names
	checkpoints map[string][]string        // provider name -> checkpoint IDs
	calls       []string                   // "op provider" in order
	labels      map[string][]string        // provider name -> labels at create
	execEnds    map[string][]time.Duration // logical name -> workflow-clock end offsets
	start       time.Time

	execDelay   time.Duration
	deleteDelay time.Duration
	// failDeletes makes that many first delete attempts fail (retryably).
	failDeletes int
	// execResult, when set, decides an exec's outcome.
	execResult func(in activities.ExecInput) (activities.ExecOutput, error)
	// createErr, when set, fails creates of a logical name.
	createErr func(name string) error
	// checkpointErr / restoreErr, when set, fail those calls for a provider.
	checkpointErr func(provider string) error
	restoreErr    func(provider string) error
}

func newFake(env *testsuite.TestWorkflowEnvironment) *fakeSprites {
	f := &fakeSprites{
		env:         env,
		alive:       map[string]bool{},
		checkpoints: map[string][]string{},
		labels:      map[string][]string{},
		execEnds:    map[string][]time.Duration{},
		execDelay:   time.Second,
		start:       env.Now(),
	}
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity(acts.CreateSprite, mock.Anything, mock.Anything).Return(f.create)
	env.OnActivity(acts.DeleteSprite, mock.Anything, mock.Anything).AfterFn(f.locked(&f.deleteDelay)).Return(f.delete)
	env.OnActivity(acts.Exec, mock.Anything, mock.Anything).AfterFn(f.locked(&f.execDelay)).Return(f.exec)
	env.OnActivity(acts.ReadFile, mock.Anything, mock.Anything).Return(f.readFile)
	env.OnActivity(acts.WriteFile, mock.Anything, mock.Anything).Return(f.writeFile)
	env.OnActivity(acts.Checkpoint, mock.Anything, mock.Anything).Return(f.checkpoint)
	env.OnActivity(acts.Restore, mock.Anything, mock.Anything).Return(f.restore)
	env.OnActivity(acts.ServiceURL, mock.Anything, mock.Anything).Return(f.serviceURL)
	return f
}

// locked reads a delay under the lock (activities run on their own
// goroutines).
func (f *fakeSprites) locked(d *time.Duration) func() time.Duration {
	return func() time.Duration {
		f.mu.Lock()
		defer f.mu.Unlock()
		return *d
	}
}

// set changes the fake's behaviour from a test callback.
func (f *fakeSprites) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logical recovers the logical name from a provider name built by
// ProviderName ("ss-<10 hex>-<name>" for short names).
func logical(provider string) string {
	return provider[len("ss-0123456789-"):]
}

func (f *fakeSprites) record(op, provider string) {
	f.calls = append(f.calls, op+" "+logical(provider))
}

func (f *fakeSprites) create(_ context.Context, in activities.CreateSpriteInput) (activities.CreateSpriteOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("create", in.ProviderName)
	if f.createErr != nil {
		if err := f.createErr(logical(in.ProviderName)); err != nil {
			return activities.CreateSpriteOutput{}, err
		}
	}
	if !slices.Contains(in.Labels, ManagedLabel) {
		return activities.CreateSpriteOutput{}, errors.New("create without the managed label")
	}
	f.alive[in.ProviderName] = true
	f.labels[in.ProviderName] = in.Labels
	f.checkpoints[in.ProviderName] = []string{"v0"}
	return activities.CreateSpriteOutput{Status: "running", URL: "https://" + in.ProviderName + ".example"}, nil
}

func (f *fakeSprites) delete(_ context.Context, in activities.DeleteSpriteInput) (activities.DeleteSpriteOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("delete", in.ProviderName)
	if f.failDeletes > 0 {
		f.failDeletes--
		return activities.DeleteSpriteOutput{}, temporal.NewApplicationError("503 from the API", activities.ErrTypeUnavailable)
	}
	existed := f.alive[in.ProviderName]
	delete(f.alive, in.ProviderName)
	return activities.DeleteSpriteOutput{Existed: existed}, nil
}

func (f *fakeSprites) exec(ctx context.Context, in activities.ExecInput) (activities.ExecOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("exec", in.ProviderName)
	name := logical(in.ProviderName)
	f.execEnds[name] = append(f.execEnds[name], f.env.Now().Sub(f.start))
	if !f.alive[in.ProviderName] {
		return activities.ExecOutput{}, temporal.NewNonRetryableApplicationError("sprite not found", activities.ErrTypeNotFound, nil)
	}
	if f.execResult != nil {
		return f.execResult(in)
	}
	return activities.ExecOutput{ExitCode: 0, Stdout: strings.Join(in.Argv, " ") + "\n"}, nil
}

func (f *fakeSprites) readFile(_ context.Context, in activities.ReadFileInput) (activities.ReadFileOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("read", in.ProviderName)
	return activities.ReadFileOutput{Content: "hello", Encoding: EncodingUTF8, Size: 5}, nil
}

func (f *fakeSprites) writeFile(_ context.Context, in activities.WriteFileInput) (activities.WriteFileOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("write", in.ProviderName)
	return activities.WriteFileOutput{Path: "/home/sprite/" + in.Path, Size: int64(len(in.Content))}, nil
}

func (f *fakeSprites) checkpoint(_ context.Context, in activities.CheckpointInput) (activities.CheckpointOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("checkpoint", in.ProviderName)
	if f.checkpointErr != nil {
		if err := f.checkpointErr(in.ProviderName); err != nil {
			return activities.CheckpointOutput{}, err
		}
	}
	id := fmt.Sprintf("v%d", len(f.checkpoints[in.ProviderName]))
	f.checkpoints[in.ProviderName] = append(f.checkpoints[in.ProviderName], id)
	return activities.CheckpointOutput{ID: id, CreatedAt: f.env.Now()}, nil
}

func (f *fakeSprites) restore(_ context.Context, in activities.RestoreInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("restore "+in.CheckpointID, in.ProviderName)
	if f.restoreErr != nil {
		return f.restoreErr(in.ProviderName)
	}
	return nil
}

func (f *fakeSprites) serviceURL(_ context.Context, in activities.ServiceURLInput) (activities.ServiceURLOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("url", in.ProviderName)
	return activities.ServiceURLOutput{Status: "running", URL: "https://" + in.ProviderName + ".example", Services: []string{"web"}}, nil
}

// callsOf returns the recorded calls that start with op.
func (f *fakeSprites) callsOf(op string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, op+" ") {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSprites) aliveCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.alive)
}

// harness runs one SessionWorkflow in the test environment.
type harness struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	fake *fakeSprites
	seq  int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWithDefaults(t, SessionConfig{})
}

// newHarnessWithDefaults runs the session as a worker with these session
// defaults would (NewSessionWorkflow).
func newHarnessWithDefaults(t *testing.T, defaults SessionConfig) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	// Warnings and errors only: the workflow logs every operation at info.
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(NewSessionWorkflow(defaults), workflow.RegisterOptions{Name: SessionWorkflowName})
	return &harness{t: t, env: env, fake: newFake(env)}
}

// run executes the session to its end.
func (h *harness) run(in SessionInput) {
	h.t.Helper()
	if in.SessionID == "" {
		in.SessionID = "test-session"
	}
	h.env.ExecuteWorkflow(SessionWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

// result returns the session's result, failing on a workflow error.
func (h *harness) result() SessionResult {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var res SessionResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatalf("workflow result: %v", err)
	}
	return res
}

// outcome is what became of one update.
type outcome[R any] struct {
	name     string
	sent     bool
	accepted bool
	rejected error
	done     bool
	resp     R
	err      error
}

// send schedules an update at a workflow-clock offset.
func send[R any](h *harness, at time.Duration, name string, req any) *outcome[R] {
	return sendID[R](h, at, name, "", req)
}

// sendID is send with a chosen update ID ("" picks a unique one).
func sendID[R any](h *harness, at time.Duration, name, id string, req any) *outcome[R] {
	o := &outcome[R]{name: name}
	h.env.RegisterDelayedCallback(func() {
		o.sent = true
		if id == "" {
			h.seq++
			id = fmt.Sprintf("%s-%d", name, h.seq)
		}
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { o.accepted = true },
			OnReject: func(err error) { o.rejected = err },
			OnComplete: func(v any, err error) {
				o.done, o.err = true, err
				if err == nil {
					o.resp = convert[R](h.t, v)
				}
			},
		}, req)
	}, at)
	return o
}

func convert[R any](t *testing.T, v any) R {
	if r, ok := v.(R); ok {
		return r
	}
	var r R
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		t.Fatalf("update answer %T: %v", v, err)
	}
	return r
}

// ok asserts the update completed without error and returns its answer.
func (o *outcome[R]) ok(t *testing.T) R {
	t.Helper()
	switch {
	case !o.sent:
		t.Fatalf("%s: never sent (workflow ended first)", o.name)
	case o.rejected != nil:
		t.Fatalf("%s: rejected: %v", o.name, o.rejected)
	case !o.done:
		t.Fatalf("%s: never completed", o.name)
	case o.err != nil:
		t.Fatalf("%s: failed: %v", o.name, o.err)
	}
	return o.resp
}

// wasRejected asserts a validator rejection and returns its message.
func (o *outcome[R]) wasRejected(t *testing.T) string {
	t.Helper()
	return o.rejectedWith(t, ErrTypeRejected)
}

// rejectedWith asserts a validator rejection of the given application type
// and returns its message.
func (o *outcome[R]) rejectedWith(t *testing.T, errType string) string {
	t.Helper()
	if o.rejected == nil {
		t.Fatalf("%s: not rejected (accepted=%v done=%v err=%v)", o.name, o.accepted, o.done, o.err)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(o.rejected, &appErr) || appErr.Type() != errType {
		t.Fatalf("%s: rejection %v is not of type %s", o.name, o.rejected, errType)
	}
	return o.rejected.Error()
}

// failedWith asserts the update was accepted and failed with an error of
// the given application type.
func (o *outcome[R]) failedWith(t *testing.T, errType string) {
	t.Helper()
	if !o.done || o.err == nil {
		t.Fatalf("%s: want failure %s, got done=%v err=%v rejected=%v", o.name, errType, o.done, o.err, o.rejected)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(o.err, &appErr) || appErr.Type() != errType {
		t.Fatalf("%s: error %v is not of type %s", o.name, o.err, errType)
	}
}

func (h *harness) query(name string, out any) {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(name)
	if err != nil {
		h.t.Fatalf("query %s: %v", name, err)
	}
	if err := v.Get(out); err != nil {
		h.t.Fatalf("query %s decode: %v", name, err)
	}
}
