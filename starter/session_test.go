package starter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// fakeTemporal records what the starter asks of Temporal and answers with
// canned values. Only the starter's argument building and error mapping are
// under test here; tests/ drives the starter against a real server.
type fakeTemporal struct {
	start     []client.StartWorkflowOptions
	startWF   []any
	startArgs [][]any
	uws       []client.UpdateWorkflowOptions
	updates   []client.UpdateWorkflowOptions
	queries   []string

	answer    any   // marshalled into every update/query result
	updateErr error // returned by the update handle's Get
	// updateErrs are returned, one per call, by the first update handles'
	// Get (a nil entry answers); updateErr applies once they are used up.
	updateErrs []error
	// onUpdate, when set, runs at each update-with-start call.
	onUpdate    func()
	describeErr error
	status      enumspb.WorkflowExecutionStatus
}

type fakeStartOp struct{}

func (fakeStartOp) Get(context.Context) (client.WorkflowRun, error) { return nil, nil }

func (f *fakeTemporal) NewWithStartWorkflowOperation(o client.StartWorkflowOptions, wf any, args ...any) client.WithStartWorkflowOperation {
	f.start = append(f.start, o)
	f.startWF = append(f.startWF, wf)
	f.startArgs = append(f.startArgs, args)
	return fakeStartOp{}
}

func (f *fakeTemporal) UpdateWithStartWorkflow(_ context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.uws = append(f.uws, o.UpdateOptions)
	if f.onUpdate != nil {
		f.onUpdate()
	}
	return f.nextHandle(), nil
}

// nextHandle answers with the next queued error, or as configured.
func (f *fakeTemporal) nextHandle() *fakeHandle {
	h := &fakeHandle{f: f, err: f.updateErr}
	if len(f.updateErrs) > 0 {
		h.err, f.updateErrs = f.updateErrs[0], f.updateErrs[1:]
	}
	return h
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.updates = append(f.updates, o)
	return f.nextHandle(), nil
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, wfID, runID, q string, _ ...any) (converter.EncodedValue, error) {
	f.queries = append(f.queries, wfID+" "+q)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return fakeValue{f.answer}, nil
}

func (f *fakeTemporal) GetWorkflow(context.Context, string, string) client.WorkflowRun { return nil }

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: f.status}}, nil
}

type fakeHandle struct {
	f   *fakeTemporal
	err error
}

func (h *fakeHandle) WorkflowID() string { return "" }
func (h *fakeHandle) RunID() string      { return "" }
func (h *fakeHandle) UpdateID() string   { return "" }
func (h *fakeHandle) Get(_ context.Context, v any) error {
	if h.err != nil {
		return h.err
	}
	return fakeValue{h.f.answer}.Get(v)
}

type fakeValue struct{ v any }

func (fv fakeValue) HasValue() bool { return fv.v != nil }
func (fv fakeValue) Get(v any) error {
	b, err := json.Marshal(fv.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func TestSession_UpdateStartsSessionWithUpdateWithStart(t *testing.T) {
	f := &fakeTemporal{answer: workflows.ExecResponse{SpriteName: "web", ExitCode: 3, Stdout: "hi"}}
	cfg := workflows.SessionConfig{IdleTimeout: time.Minute, OutputCap: 1024}
	s := newClient(f, WithTaskQueue("q2"), WithSessionConfig(cfg)).Session("s-1")
	req := workflows.ExecRequest{SpriteName: "web", Command: "echo hi"}

	resp, err := s.Exec(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ExitCode != 3 || resp.Stdout != "hi" {
		t.Errorf("response = %+v", resp)
	}

	if len(f.start) != 1 || len(f.uws) != 1 || len(f.updates) != 0 {
		t.Fatalf("calls: %d starts, %d update-with-start, %d plain updates", len(f.start), len(f.uws), len(f.updates))
	}
	st := f.start[0]
	if st.ID != workflows.SessionWorkflowID("s-1") || st.TaskQueue != "q2" ||
		st.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING ||
		st.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED {
		t.Errorf("start options = %+v", st)
	}
	if st.WorkflowExecutionTimeout != 0 || st.WorkflowRunTimeout != 0 {
		t.Errorf("server-side timeouts set: %+v (they skip cleanup)", st)
	}
	if f.startWF[0] != workflows.SessionWorkflowName {
		t.Errorf("workflow = %v, want the registered name %q", f.startWF[0], workflows.SessionWorkflowName)
	}
	wantIn := []any{workflows.SessionInput{SessionID: "s-1", Config: cfg}}
	if !reflect.DeepEqual(f.startArgs[0], wantIn) {
		t.Errorf("start args = %+v, want %+v", f.startArgs[0], wantIn)
	}
	up := f.uws[0]
	if up.UpdateName != workflows.UpdateExec || up.WorkflowID != workflows.SessionWorkflowID("s-1") ||
		up.WaitForStage != client.WorkflowUpdateStageCompleted || up.UpdateID == "" || up.RunID != "" {
		t.Errorf("update options = %+v", up)
	}
	if !reflect.DeepEqual(up.Args, []any{req}) {
		t.Errorf("update args = %+v", up.Args)
	}
}

func TestSession_UpdateIDsAreUniqueUnlessCallerSetsOne(t *testing.T) {
	f := &fakeTemporal{answer: workflows.CheckpointResponse{}}
	s := newClient(f).Session("s-1")
	ctx := context.Background()
	req := workflows.CheckpointRequest{SpriteName: "web"}
	for range 2 {
		if _, err := s.Checkpoint(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Checkpoint(ctx, req, WithUpdateID("retry-me")); err != nil {
		t.Fatal(err)
	}
	if f.uws[0].UpdateID == f.uws[1].UpdateID {
		t.Errorf("two calls share update ID %q", f.uws[0].UpdateID)
	}
	if f.uws[2].UpdateID != "retry-me" {
		t.Errorf("update ID = %q, want the caller's", f.uws[2].UpdateID)
	}
	if f.uws[0].WorkflowID == "" || f.start[0].TaskQueue != workflows.DefaultTaskQueue {
		t.Errorf("defaults not applied: %+v %+v", f.uws[0], f.start[0])
	}
}

func TestSession_EveryUpdateMapsToItsName(t *testing.T) {
	f := &fakeTemporal{answer: map[string]any{}}
	s := newClient(f).Session("s-1")
	ctx := context.Background()
	calls := map[string]func() error{
		workflows.UpdateCreateSprite:      func() error { _, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{}); return err },
		workflows.UpdateExec:              func() error { _, err := s.Exec(ctx, workflows.ExecRequest{}); return err },
		workflows.UpdateReadFile:          func() error { _, err := s.ReadFile(ctx, workflows.ReadFileRequest{}); return err },
		workflows.UpdateWriteFile:         func() error { _, err := s.WriteFile(ctx, workflows.WriteFileRequest{}); return err },
		workflows.UpdateDeleteSprite:      func() error { _, err := s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{}); return err },
		workflows.UpdateCheckpoint:        func() error { _, err := s.Checkpoint(ctx, workflows.CheckpointRequest{}); return err },
		workflows.UpdateRestoreCheckpoint: func() error { _, err := s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{}); return err },
		workflows.UpdateServiceURL:        func() error { _, err := s.ServiceURL(ctx, workflows.ServiceURLRequest{}); return err },
		workflows.UpdateRunRiskyStep:      func() error { _, err := s.RunRiskyStep(ctx, workflows.RiskyStepRequest{}); return err },
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := f.uws[len(f.uws)-1].UpdateName; got != name {
			t.Errorf("update name = %q, want %q", got, name)
		}
	}
}

func TestSession_EndIsAPlainUpdateThatNeverStartsASession(t *testing.T) {
	f := &fakeTemporal{answer: workflows.EndSessionResponse{Deleted: []string{"web"}}}
	s := newClient(f).Session("s-1")
	resp, err := s.End(context.Background(), workflows.EndSessionRequest{Reason: "done"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.start) != 0 || len(f.uws) != 0 || len(f.updates) != 1 {
		t.Fatalf("End made %d starts, %d update-with-start, %d plain updates", len(f.start), len(f.uws), len(f.updates))
	}
	if u := f.updates[0]; u.UpdateName != workflows.UpdateEndSession || u.WorkflowID != workflows.SessionWorkflowID("s-1") {
		t.Errorf("update = %+v", u)
	}
	if !reflect.DeepEqual(resp.Deleted, []string{"web"}) {
		t.Errorf("response = %+v", resp)
	}
}

func TestSession_EndTellsClosedFromNeverStarted(t *testing.T) {
	cases := []struct {
		name        string
		status      enumspb.WorkflowExecutionStatus
		describeErr error
		want        error
	}{
		{"completed", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil, ErrSessionClosed},
		{"terminated", enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, nil, ErrSessionClosed},
		{"never started", 0, serviceerror.NewNotFound("not found"), ErrSessionNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTemporal{updateErr: serviceerror.NewNotFound("workflow execution already completed"),
				status: tc.status, describeErr: tc.describeErr}
			_, err := newClient(f).Session("s-1").End(context.Background(), workflows.EndSessionRequest{})
			if !errors.Is(err, tc.want) {
				t.Errorf("End = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestClient_RejectClosedSessionsForbidsANewRun(t *testing.T) {
	f := &fakeTemporal{answer: workflows.CreateSpriteResponse{}}
	if _, err := newClient(f, RejectClosedSessions()).Session("s-1").CreateSprite(context.Background(),
		workflows.CreateSpriteRequest{SpriteName: "web"}); err != nil {
		t.Fatal(err)
	}
	if got := f.start[0].WorkflowIDReusePolicy; got != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE {
		t.Errorf("reuse policy = %v", got)
	}
}

func TestSession_RejectsBadSessionIDWithoutCallingTemporal(t *testing.T) {
	f := &fakeTemporal{}
	s := newClient(f).Session("no spaces/allowed")
	_, err := s.Exec(context.Background(), workflows.ExecRequest{SpriteName: "web", Command: "true"})
	var rej *RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("Exec = %v, want *RejectedError", err)
	}
	if _, err := s.Describe(context.Background()); !errors.As(err, &rej) {
		t.Errorf("Describe = %v, want *RejectedError", err)
	}
	if len(f.start)+len(f.uws)+len(f.updates)+len(f.queries) != 0 {
		t.Errorf("Temporal was called for an invalid session ID")
	}
}

func TestSession_QueriesUseTheirNames(t *testing.T) {
	f := &fakeTemporal{answer: workflows.ListSpritesResponse{Count: 1, Sprites: []workflows.SpriteInfo{{SpriteName: "web"}}}}
	s := newClient(f).Session("s-1")
	list, err := s.ListSprites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if list.Count != 1 || list.Sprites[0].SpriteName != "web" {
		t.Errorf("ListSprites = %+v", list)
	}
	f.answer = workflows.DescribeResponse{SessionID: "s-1", State: workflows.StateActive}
	if d, err := s.Describe(context.Background()); err != nil || d.State != workflows.StateActive {
		t.Errorf("Describe = %+v, %v", d, err)
	}
	want := []string{"session/s-1 " + workflows.QueryListSprites, "session/s-1 " + workflows.QueryDescribe}
	if !reflect.DeepEqual(f.queries, want) {
		t.Errorf("queries = %v, want %v", f.queries, want)
	}
	if len(f.start) != 0 {
		t.Errorf("a query started the session")
	}
}

func TestSession_QueryOnUnknownSessionIsNotFound(t *testing.T) {
	f := &fakeTemporal{updateErr: serviceerror.NewNotFound("workflow not found for ID: session/s-1")}
	_, err := newClient(f).Session("s-1").Describe(context.Background())
	if !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("Describe = %v, want ErrSessionNotFound", err)
	}
}

func TestSession_WriteFileRejectsContentOverTheLimitLocally(t *testing.T) {
	f := &fakeTemporal{answer: workflows.WriteFileResponse{}}
	s := newClient(f).Session("s-1")
	big := strings.Repeat("x", workflows.MaxWriteBytesLimit+1)
	for _, req := range []workflows.WriteFileRequest{
		{SpriteName: "web", Path: "a", Content: big},
		{SpriteName: "web", Path: "a", Content: base64.StdEncoding.EncodeToString([]byte(big)), Encoding: workflows.EncodingBase64},
	} {
		_, err := s.WriteFile(context.Background(), req)
		var rej *RejectedError
		if !errors.As(err, &rej) {
			t.Errorf("WriteFile(%d bytes, %s) = %v, want *RejectedError", len(req.Content), req.Encoding, err)
		}
	}
	if len(f.uws) != 0 {
		t.Fatalf("oversized content was sent")
	}
	if _, err := s.WriteFile(context.Background(), workflows.WriteFileRequest{SpriteName: "web", Path: "a",
		Content: big[:workflows.MaxWriteBytesLimit]}); err != nil || len(f.uws) != 1 {
		t.Errorf("content at the limit: %v, %d calls", err, len(f.uws))
	}
}
