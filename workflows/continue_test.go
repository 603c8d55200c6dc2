package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

func TestSession_DrainsForContinueAsNewByRefusingNewWorkUntilInFlightFinish(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	h.env.RegisterDelayedCallback(func() { h.fake.set(func() { h.fake.execDelay = 30 * time.Second }) }, 2*time.Second)
	inflight := sendID[ExecResponse](h, 5*time.Second, UpdateExec, "exec-in-flight", ExecRequest{SpriteName: "a", Command: "sleep 30"})
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 6*time.Second)
	read := send[ReadFileResponse](h, 7*time.Second, UpdateReadFile, ReadFileRequest{SpriteName: "a", Path: "x"})
	create := send[CreateSpriteResponse](h, 8*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	// A request that is bad in any run is still told to retry: whether it
	// is valid is decided by the run that will admit it.
	unknown := send[ExecResponse](h, 9*time.Second, UpdateExec, ExecRequest{SpriteName: "nope", Command: "true"})
	var desc DescribeResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryDescribe, &desc) }, 10*time.Second)
	h.run(SessionInput{SessionID: "drain", Config: SessionConfig{IdleTimeout: time.Hour}})

	for _, msg := range []string{
		read.rejectedWith(t, ErrTypeContinuing),
		create.rejectedWith(t, ErrTypeContinuing),
		unknown.rejectedWith(t, ErrTypeContinuing),
	} {
		if !strings.Contains(msg, "retry") {
			t.Errorf("rejection %q does not say to retry", msg)
		}
	}
	if got := h.fake.callsOf("read"); len(got) != 0 {
		t.Errorf("a refused update ran an activity: %v", got)
	}
	if got := h.fake.callsOf("create"); len(got) != 1 {
		t.Errorf("creates = %v, want only the first", got)
	}
	if desc.SessionID != "drain" || len(desc.Sprites) != 1 {
		t.Errorf("Describe while draining = %+v", desc)
	}
	if r := inflight.ok(t); r.SpriteName != "a" {
		t.Errorf("in-flight exec answered %+v", r)
	}

	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next SessionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.Runs != 1 || len(st.Sprites) != 1 || st.Sprites["a"] == nil || st.Counters.Execs != 1 {
		t.Fatalf("carried state = %+v", st)
	}
	if !slices.Contains(st.RecentUpdateIDs, "exec-in-flight") {
		t.Errorf("recent update IDs %v miss the in-flight exec", st.RecentUpdateIDs)
	}
	if got := h.fake.callsOf("delete"); len(got) != 0 {
		t.Errorf("continue-as-new deleted sprites: %v", got)
	}
}

func TestSession_EndSessionWhileDrainingEndsAndCleansUp(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	h.env.RegisterDelayedCallback(func() { h.fake.set(func() { h.fake.execDelay = time.Hour }) }, 2*time.Second)
	inflight := send[ExecResponse](h, 5*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "sleep 600", TimeoutMS: 600000})
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 6*time.Second)
	refused := send[ExecResponse](h, 7*time.Second, UpdateExec, ExecRequest{SpriteName: "b", Command: "true"})
	end := send[EndSessionResponse](h, 8*time.Second, UpdateEndSession, EndSessionRequest{Reason: "done"})
	start := h.env.Now()
	h.run(SessionInput{Config: SessionConfig{IdleTimeout: time.Hour}})

	refused.rejectedWith(t, ErrTypeContinuing)
	res := h.result() // fails on a continue-as-new error
	if res.Reason != EndReasonEnded || !slices.Equal(res.Deleted, []string{"a", "b"}) {
		t.Errorf("result = %+v", res)
	}
	if r := end.ok(t); !slices.Equal(r.Deleted, []string{"a", "b"}) {
		t.Errorf("EndSession answered %+v", r)
	}
	inflight.failedWith(t, ErrTypeSessionEnding)
	if n := h.fake.aliveCount(); n != 0 {
		t.Errorf("%d sprites left", n)
	}
	if took := h.env.Now().Sub(start); took > time.Minute {
		t.Errorf("the end waited %v for the in-flight exec", took)
	}
}
