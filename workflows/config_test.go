package workflows

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// A session takes its limits from its own config first, then from the
// worker's defaults, then from the built-in ones, and carries the resolved
// limits into its next run.
func TestSession_LimitsComeFromTheRequestThenTheWorkerThenBuiltIns(t *testing.T) {
	h := newHarnessWithDefaults(t, SessionConfig{IdleTimeout: 7 * time.Minute, MaxSprites: 3, OutputCap: 1000})
	var described DescribeResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryDescribe, &described) }, time.Second)
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 2*time.Second)
	h.run(SessionInput{SessionID: "limits", Config: SessionConfig{OutputCap: 2000}})

	want := SessionConfig{
		IdleTimeout:   7 * time.Minute, // the worker's
		MaxLifetime:   DefaultMaxLifetime,
		OutputCap:     2000, // the session's own
		MaxWriteBytes: DefaultMaxWriteBytes,
		MaxSprites:    3, // the worker's
	}
	if described.Config != want {
		t.Errorf("Describe config = %+v, want %+v", described.Config, want)
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next SessionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Config != want {
		t.Errorf("carried config = %+v, want the resolved %+v", next.Config, want)
	}
}

// The worker's default idle timeout ends a session that sets none.
func TestSession_WorkerDefaultIdleTimeoutEndsTheSession(t *testing.T) {
	h := newHarnessWithDefaults(t, SessionConfig{IdleTimeout: 5 * time.Minute})
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	start := h.env.Now()
	h.run(SessionInput{})

	res := h.result()
	if res.Reason != EndReasonIdle || len(res.Deleted) != 1 {
		t.Fatalf("result = %+v, want an idle end that deleted a", res)
	}
	if took := h.env.Now().Sub(start); took < 5*time.Minute || took >= DefaultIdleTimeout {
		t.Errorf("session idled out after %v of workflow time, want the worker's 5m", took)
	}
}

// A run whose history began before the sprite limit existed replays and
// goes on without it: the limit is behind a version marker.
func TestSession_RunRecordedBeforeTheLimitHasNoSpriteLimit(t *testing.T) {
	h := newHarness(t)
	h.env.OnGetVersion(versionRecordedConfig, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	var creates []*outcome[CreateSpriteResponse]
	for i := range DefaultMaxSprites + 1 {
		creates = append(creates, send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: fmt.Sprintf("s%d", i)}))
	}
	send[EndSessionResponse](h, time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	for _, c := range creates {
		c.ok(t)
	}
	if res := h.result(); len(res.Deleted) != DefaultMaxSprites+1 {
		t.Errorf("cleanup deleted %d sprites, want %d", len(res.Deleted), DefaultMaxSprites+1)
	}
}
