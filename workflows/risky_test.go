package workflows

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// failOn makes a command fail with exit code 1 when its argv contains word.
func failOn(word string) func(in activities.ExecInput) (activities.ExecOutput, error) {
	return func(in activities.ExecInput) (activities.ExecOutput, error) {
		cmd := strings.Join(in.Argv, " ")
		if strings.Contains(cmd, word) {
			return activities.ExecOutput{ExitCode: 1, Stderr: "boom: " + cmd}, nil
		}
		return activities.ExecOutput{Stdout: cmd + "\n"}, nil
	}
}

// createAll schedules creates of names at one second.
func createAll(h *harness, names ...string) {
	for _, n := range names {
		send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: n})
	}
}

func cmd(sprite, command string) RiskyCommand {
	return RiskyCommand{SpriteName: sprite, Command: command}
}

func TestRiskyStep_KeepsCheckpointsAndReportsOutputsOnSuccess(t *testing.T) {
	h := newHarness(t)
	createAll(h, "a")
	risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
		Sprites: []string{"a"},
		Steps:   []RiskyCommand{{Command: "make build"}, {Argv: []string{"make", "install"}, TimeoutMS: 1000}},
		Verify:  &RiskyCommand{Command: "make test"},
		Comment: "before install",
	})
	var list ListSpritesResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryListSprites, &list) }, time.Minute)
	send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	r := risky.ok(t)
	if !r.Success || r.FailedStep != -1 || r.Restored || len(r.Steps) != 2 || r.Verify == nil {
		t.Fatalf("answer = %+v", r)
	}
	if r.Steps[0].Stdout != "sh -lc make build\n" || r.Steps[1].Stdout != "make install\n" || r.Verify.Stdout != "sh -lc make test\n" {
		t.Errorf("outputs = %+v / %+v", r.Steps, r.Verify)
	}
	if r.Checkpoints["a"] != "v1" {
		t.Errorf("checkpoints = %v", r.Checkpoints)
	}
	if got := h.fake.callsOf("restore"); len(got) != 0 {
		t.Errorf("restored after success: %v", got)
	}
	cps := list.Sprites[0].Checkpoints
	if len(cps) != 1 || cps[0].ID != "v1" || cps[0].Comment != "before install" {
		t.Errorf("checkpoints listed on the sprite = %+v", cps)
	}
}

func TestRiskyStep_RestoresWhenAStepOrVerifyFails(t *testing.T) {
	cases := []struct {
		name       string
		steps      []RiskyCommand
		verify     *RiskyCommand
		failedStep int
		ran        int // commands that ran
	}{
		{"failing step", []RiskyCommand{{Command: "ok 1"}, {Command: "fail"}, {Command: "never"}}, &RiskyCommand{Command: "never"}, 1, 2},
		{"failing verify", []RiskyCommand{{Command: "ok 1"}, {Command: "ok 2"}}, &RiskyCommand{Command: "fail verify"}, 2, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.execResult = failOn("fail")
			createAll(h, "a")
			risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: c.steps, Verify: c.verify})
			after := send[ExecResponse](h, time.Minute, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
			send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
			h.run(SessionInput{})

			r := risky.ok(t)
			if r.Success || r.FailedStep != c.failedStep || !r.Restored || len(r.Tainted) != 0 {
				t.Fatalf("answer = %+v", r)
			}
			if r.Checkpoints["a"] != "v1" || !strings.Contains(r.Reason, "exited with code 1") {
				t.Errorf("checkpoints %v reason %q", r.Checkpoints, r.Reason)
			}
			outs := slices.Clone(r.Steps)
			if r.Verify != nil {
				outs = append(outs, *r.Verify)
			}
			if len(outs) != c.ran || outs[len(outs)-1].ExitCode != 1 || !strings.HasPrefix(outs[len(outs)-1].Stderr, "boom") {
				t.Errorf("outputs = %+v", outs)
			}
			if got := h.fake.callsOf("exec"); len(got) != c.ran+1 {
				t.Errorf("execs = %v: commands after the failure ran", got)
			}
			if got := h.fake.callsOf("restore"); !slices.Equal(got, []string{"restore v1 a"}) {
				t.Errorf("restores = %v", got)
			}
			after.ok(t) // a restored sprite is not tainted
		})
	}
}

func TestRiskyStep_RestoresAllSpritesWhenOneSpritesStepFails(t *testing.T) {
	h := newHarness(t)
	h.fake.execResult = failOn("fail")
	createAll(h, "a", "b", "c")
	risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
		Sprites: []string{"c", "a", "b"},
		Steps:   []RiskyCommand{cmd("a", "migrate"), cmd("b", "fail migrate"), cmd("c", "never")},
	})
	send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	r := risky.ok(t)
	if r.Success || r.FailedStep != 1 || !r.Restored || len(r.Steps) != 2 || r.Steps[1].SpriteName != "b" {
		t.Fatalf("answer = %+v", r)
	}
	want := map[string]string{"a": "v1", "b": "v1", "c": "v1"}
	if !maps.Equal(r.Checkpoints, want) {
		t.Errorf("checkpoints = %v", r.Checkpoints)
	}
	restores := h.fake.callsOf("restore")
	slices.Sort(restores)
	if !slices.Equal(restores, []string{"restore v1 a", "restore v1 b", "restore v1 c"}) {
		t.Errorf("restores = %v", restores)
	}
}

func TestRiskyStep_RestoresWhenAStepTimesOutOrItsActivityFails(t *testing.T) {
	cases := []struct {
		name    string
		bad     func() (activities.ExecOutput, error)
		reason  string // the answer's Reason
		outcome func(o StepOutput) bool
	}{
		{"timed out",
			func() (activities.ExecOutput, error) {
				return activities.ExecOutput{ExitCode: 137, Stdout: "partial\n", TimedOut: true}, nil
			},
			"step 1 timed out",
			func(o StepOutput) bool { return o.TimedOut && o.Stdout == "partial\n" && o.Error == "" }},
		{"non-retryable activity error",
			func() (activities.ExecOutput, error) {
				return activities.ExecOutput{}, temporal.NewNonRetryableApplicationError("exec socket lost before the session was named", activities.ErrTypeExecLost, nil)
			},
			"step 1 failed: ",
			func(o StepOutput) bool {
				return o.ExitCode == -1 && !o.TimedOut && strings.Contains(o.Error, "exec socket lost")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.execResult = func(in activities.ExecInput) (activities.ExecOutput, error) {
				if cmd := strings.Join(in.Argv, " "); strings.Contains(cmd, "bad") {
					return c.bad()
				}
				return activities.ExecOutput{Stdout: "ok\n"}, nil
			}
			createAll(h, "a", "b")
			risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
				Sprites: []string{"a", "b"},
				Steps:   []RiskyCommand{cmd("a", "ok"), cmd("b", "bad"), cmd("a", "never")},
				Verify:  &RiskyCommand{SpriteName: "a", Command: "never"},
			})
			after := send[ExecResponse](h, time.Minute, UpdateExec, ExecRequest{SpriteName: "b", Command: "true"})
			send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
			h.run(SessionInput{})

			r := risky.ok(t)
			if r.Success || r.FailedStep != 1 || !r.Restored || len(r.Tainted) != 0 || r.Verify != nil || len(r.Steps) != 2 {
				t.Fatalf("answer = %+v", r)
			}
			if !strings.HasPrefix(r.Reason, c.reason) {
				t.Errorf("reason %q, want it to start %q", r.Reason, c.reason)
			}
			if o := r.Steps[1]; o.SpriteName != "b" || !c.outcome(o) {
				t.Errorf("failed step's output = %+v", o)
			}
			// The failed step ran once (a non-retryable error is not
			// retried) and nothing after it ran: "ok", "bad", then the
			// exec after the saga.
			if got := h.fake.callsOf("exec"); !slices.Equal(got, []string{"exec a", "exec b", "exec b"}) {
				t.Errorf("execs = %v", got)
			}
			restores := h.fake.callsOf("restore")
			slices.Sort(restores)
			if !slices.Equal(restores, []string{"restore v1 a", "restore v1 b"}) {
				t.Errorf("restores = %v, want every checkpointed sprite restored", restores)
			}
			after.ok(t) // restored, not tainted
		})
	}
}

func TestRiskyStep_PassesEachCommandsTimeoutToExec(t *testing.T) {
	h := newHarness(t)
	var timeouts []time.Duration
	h.fake.execResult = func(in activities.ExecInput) (activities.ExecOutput, error) {
		timeouts = append(timeouts, in.Timeout) // under the fake's lock
		return activities.ExecOutput{}, nil
	}
	createAll(h, "a")
	risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
		Sprites: []string{"a"},
		Steps:   []RiskyCommand{{Command: "one", TimeoutMS: 1500}, {Command: "two"}, {Command: "three", TimeoutMS: 600000}},
		Verify:  &RiskyCommand{Command: "check", TimeoutMS: 90000},
	})
	send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	if r := risky.ok(t); !r.Success {
		t.Fatalf("answer = %+v", r)
	}
	want := []time.Duration{1500 * time.Millisecond, DefaultExecTimeout, MaxExecTimeout, 90 * time.Second}
	if !slices.Equal(timeouts, want) {
		t.Errorf("Exec timeouts = %v, want %v (each command's own, the default when unset)", timeouts, want)
	}
}

func TestRiskyStep_RunsNothingWhenACheckpointFails(t *testing.T) {
	h := newHarness(t)
	h.fake.checkpointErr = func(provider string) error {
		if logical(provider) == "b" {
			return temporal.NewNonRetryableApplicationError("stream ended with an error event", activities.ErrTypeCheckpointFailed, nil)
		}
		return nil
	}
	createAll(h, "a", "b", "c")
	risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
		Sprites: []string{"a", "b", "c"},
		Steps:   []RiskyCommand{cmd("a", "rm -rf /")},
	})
	var list ListSpritesResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryListSprites, &list) }, time.Minute)
	send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	r := risky.ok(t)
	if r.Success || r.CheckpointFailed != "b" || r.Restored || r.FailedStep != -1 || len(r.Steps) != 0 {
		t.Fatalf("answer = %+v", r)
	}
	if !maps.Equal(r.Checkpoints, map[string]string{"a": "v1", "c": "v1"}) {
		t.Errorf("checkpoints taken = %v, want a and c reported", r.Checkpoints)
	}
	if got := h.fake.callsOf("exec"); len(got) != 0 {
		t.Errorf("steps ran after a failed checkpoint: %v", got)
	}
	if got := h.fake.callsOf("restore"); len(got) != 0 {
		t.Errorf("restores = %v", got)
	}
	for _, sp := range list.Sprites {
		if want := sp.SpriteName != "b"; (len(sp.Checkpoints) == 1) != want {
			t.Errorf("sprite %s lists checkpoints %+v", sp.SpriteName, sp.Checkpoints)
		}
	}
}

func TestRiskyStep_TaintsASpriteWhoseRestoreFailsUntilRestoredOrDeleted(t *testing.T) {
	h := newHarness(t)
	h.fake.execResult = failOn("fail")
	restoreBroken := true
	h.fake.restoreErr = func(provider string) error {
		if restoreBroken {
			return temporal.NewApplicationError("503", activities.ErrTypeUnavailable)
		}
		return nil
	}
	createAll(h, "a", "b")
	risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
		Sprites: []string{"a", "b"},
		Steps:   []RiskyCommand{cmd("a", "fail")},
	})
	h.env.RegisterDelayedCallback(func() { h.fake.set(func() { restoreBroken = false }) }, 10*time.Minute)
	execTainted := send[ExecResponse](h, 11*time.Minute, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	urlTainted := send[ServiceURLResponse](h, 11*time.Minute, UpdateServiceURL, ServiceURLRequest{SpriteName: "a"})
	cpTainted := send[CheckpointResponse](h, 11*time.Minute, UpdateCheckpoint, CheckpointRequest{SpriteName: "a"})
	riskyTainted := send[RiskyStepResponse](h, 11*time.Minute, UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"b"}, Steps: []RiskyCommand{{Command: "x"}}})
	readTainted := send[ReadFileResponse](h, 11*time.Minute, UpdateReadFile, ReadFileRequest{SpriteName: "a", Path: "f"})
	writeTainted := send[WriteFileResponse](h, 11*time.Minute, UpdateWriteFile, WriteFileRequest{SpriteName: "b", Path: "f", Content: "x"})
	var desc DescribeResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryDescribe, &desc) }, 11*time.Minute)
	restore := send[RestoreCheckpointResponse](h, 12*time.Minute, UpdateRestoreCheckpoint, RestoreCheckpointRequest{SpriteName: "a", CheckpointID: "v1"})
	del := send[DeleteSpriteResponse](h, 12*time.Minute, UpdateDeleteSprite, DeleteSpriteRequest{SpriteName: "b"})
	execAfter := send[ExecResponse](h, 13*time.Minute, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	send[EndSessionResponse](h, 20*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	r := risky.ok(t)
	if r.Restored || !slices.Equal(r.Tainted, []string{"a", "b"}) || r.FailedStep != 0 {
		t.Fatalf("answer = %+v", r)
	}
	if n := len(h.fake.callsOf("restore")); n != 2*5+1 {
		t.Errorf("%d restore attempts, want 5 per sprite (bounded) plus the manual one", n)
	}
	for _, o := range []interface{ wasRejected(*testing.T) string }{execTainted, urlTainted, cpTainted, riskyTainted, readTainted, writeTainted} {
		if msg := o.wasRejected(t); !strings.Contains(msg, "tainted") {
			t.Errorf("rejection %q does not say tainted", msg)
		}
	}
	for _, op := range []string{"read", "write", "url"} {
		if got := h.fake.callsOf(op); len(got) != 0 {
			t.Errorf("updates on a tainted sprite reached the provider: %v", got)
		}
	}
	if len(desc.Sprites) != 2 || !desc.Sprites[0].Tainted || !desc.Sprites[1].Tainted {
		t.Errorf("Describe sprites = %+v, want both tainted", desc.Sprites)
	}
	if rr := restore.ok(t); !rr.Restored {
		t.Errorf("restore = %+v", rr)
	}
	del.ok(t)
	execAfter.ok(t)
}

func TestRiskyStep_RestoresEvenWhenTheSessionEndsMidStep(t *testing.T) {
	cases := []struct {
		name string
		end  func(h *harness) *outcome[EndSessionResponse]
	}{
		{"cancelled", func(h *harness) *outcome[EndSessionResponse] {
			h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 30*time.Second)
			return nil
		}},
		{"ended", func(h *harness) *outcome[EndSessionResponse] {
			return send[EndSessionResponse](h, 30*time.Second, UpdateEndSession, EndSessionRequest{})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			createAll(h, "a", "b")
			h.env.RegisterDelayedCallback(func() { h.fake.set(func() { h.fake.execDelay = time.Hour }) }, 2*time.Second)
			risky := send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
				Sprites: []string{"a", "b"},
				Steps:   []RiskyCommand{cmd("a", "long migration"), cmd("b", "never")},
			})
			end := c.end(h)
			h.run(SessionInput{})

			r := risky.ok(t)
			if r.Success || r.FailedStep != 0 || !r.Restored || !strings.Contains(r.Steps[0].Error, "cancelled") {
				t.Fatalf("answer = %+v", r)
			}
			var order []string
			for _, call := range h.fake.calls {
				if strings.HasPrefix(call, "restore") || strings.HasPrefix(call, "delete") {
					order = append(order, call)
				}
			}
			if len(order) != 4 || !strings.HasPrefix(order[0], "restore") || !strings.HasPrefix(order[1], "restore") {
				t.Errorf("provider calls %v: want both restores, then both deletes", order)
			}
			res := h.result()
			if !slices.Equal(res.Deleted, []string{"a", "b"}) {
				t.Errorf("result = %+v", res)
			}
			if end != nil {
				if er := end.ok(t); !slices.Equal(er.Deleted, []string{"a", "b"}) {
					t.Errorf("EndSession = %+v", er)
				}
			}
		})
	}
}

func TestRiskyStep_OverlappingSagasFinishWithoutDeadlock(t *testing.T) {
	h := newHarness(t)
	createAll(h, "a", "b", "c")
	h.env.RegisterDelayedCallback(func() { h.fake.set(func() { h.fake.execDelay = 5 * time.Second }) }, 2*time.Second)
	// Execs hold a and b while the sagas arrive and release both at once, so
	// each of the first two sagas gets the first lock it asks for. Taking
	// locks in request order would deadlock here.
	send[ExecResponse](h, 3*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "hold a"})
	send[ExecResponse](h, 3*time.Second, UpdateExec, ExecRequest{SpriteName: "b", Command: "hold b"})
	sagas := []*outcome[RiskyStepResponse]{
		send[RiskyStepResponse](h, 4*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
			Sprites: []string{"a", "b"}, Steps: []RiskyCommand{cmd("a", "1"), cmd("b", "2")}}),
		send[RiskyStepResponse](h, 4*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
			Sprites: []string{"b", "a"}, Steps: []RiskyCommand{cmd("b", "3"), cmd("a", "4")}}),
		send[RiskyStepResponse](h, 5*time.Second, UpdateRunRiskyStep, RiskyStepRequest{
			Sprites: []string{"c", "b"}, Steps: []RiskyCommand{cmd("c", "5"), cmd("b", "6")}}),
	}
	send[EndSessionResponse](h, 10*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	for _, s := range sagas {
		if r := s.ok(t); !r.Success {
			t.Errorf("saga = %+v", r)
		}
	}
	ends := slices.Clone(h.fake.execEnds["b"])
	slices.Sort(ends)
	for i := 1; i < len(ends); i++ {
		if ends[i]-ends[i-1] < 5*time.Second {
			t.Errorf("commands on b overlapped: ends %v", ends)
		}
	}
}

func TestBoundAnswer_KeepsRiskyAnswersUnderBudget(t *testing.T) {
	r := RiskyStepResponse{Steps: make([]StepOutput, 4)}
	for i := range r.Steps {
		// Control bytes escape to six bytes each in JSON.
		r.Steps[i].Stdout = strings.Repeat("\x01", 200<<10)
		r.Steps[i].Stderr = strings.Repeat("é", 100<<10)
	}
	boundAnswer(&r)
	if n := len(mustJSON(t, r)); n > riskyAnswerBudget {
		t.Errorf("answer is %d bytes, budget %d", n, riskyAnswerBudget)
	}
	if !r.Steps[0].Truncated {
		t.Errorf("cut output not flagged truncated")
	}
}
