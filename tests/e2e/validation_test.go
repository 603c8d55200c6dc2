package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestValidation_RejectsBadInputWithoutHistoryAndSessionKeepsWorking sends
// bad requests of every kind to a running session: each is refused with the
// starter's RejectedError, the session's history does not grow by a single
// event, and the session answers the next good call.
func TestValidation_RejectsBadInputWithoutHistoryAndSessionKeepsWorking(t *testing.T) {
	t.Parallel()
	const writeLimit = 1024
	env := harness.New(t, harness.WithSessionConfig(workflows.SessionConfig{MaxWriteBytes: writeLimit}))
	ctx := testContext(t, 2*time.Minute)
	s := env.Starter.Session("validation")
	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})).must(t, "create box")

	exec := func(req workflows.ExecRequest) error { _, err := s.Exec(ctx, req); return err }
	write := func(req workflows.WriteFileRequest) error { _, err := s.WriteFile(ctx, req); return err }
	risky := func(req workflows.RiskyStepRequest) error { _, err := s.RunRiskyStep(ctx, req); return err }
	restore := func(id string) error {
		_, err := s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: "box", CheckpointID: id})
		return err
	}
	cases := []struct {
		name string
		op   string
		send func() error
	}{
		{"create with an invalid name", workflows.UpdateCreateSprite, func() error {
			_, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "Bad_Name"})
			return err
		}},
		{"create with too many cpus", workflows.UpdateCreateSprite, func() error {
			_, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "big", CPUs: 99})
			return err
		}},
		{"create with too little memory", workflows.UpdateCreateSprite, func() error {
			_, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "small", MemoryMB: 1})
			return err
		}},
		{"exec on an unknown sprite", workflows.UpdateExec, func() error {
			return exec(workflows.ExecRequest{SpriteName: "ghost", Command: "true"})
		}},
		{"exec with command and argv", workflows.UpdateExec, func() error {
			return exec(workflows.ExecRequest{SpriteName: "box", Command: "true", Argv: []string{"true"}})
		}},
		{"exec without a command", workflows.UpdateExec, func() error {
			return exec(workflows.ExecRequest{SpriteName: "box", Command: "  "})
		}},
		{"exec with a bad env name", workflows.UpdateExec, func() error {
			return exec(workflows.ExecRequest{SpriteName: "box", Command: "true", Env: map[string]string{"A=B": "x"}})
		}},
		{"exec over the maximum timeout", workflows.UpdateExec, func() error {
			return exec(workflows.ExecRequest{SpriteName: "box", Command: "true", TimeoutMS: workflows.MaxExecTimeout.Milliseconds() + 1})
		}},
		{"exec with oversized stdin", workflows.UpdateExec, func() error {
			return exec(workflows.ExecRequest{SpriteName: "box", Argv: []string{"cat"}, Stdin: strings.Repeat("x", writeLimit+1)})
		}},
		{"read with an empty path", workflows.UpdateReadFile, func() error {
			_, err := s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: ""})
			return err
		}},
		{"write over the session's limit", workflows.UpdateWriteFile, func() error {
			return write(workflows.WriteFileRequest{SpriteName: "box", Path: "big.txt", Content: strings.Repeat("x", writeLimit+1)})
		}},
		{"write with bad base64", workflows.UpdateWriteFile, func() error {
			return write(workflows.WriteFileRequest{SpriteName: "box", Path: "a.bin", Content: "%%%", Encoding: workflows.EncodingBase64})
		}},
		{"write with an unknown encoding", workflows.UpdateWriteFile, func() error {
			return write(workflows.WriteFileRequest{SpriteName: "box", Path: "a.txt", Content: "x", Encoding: "latin1"})
		}},
		{"write with a bad mode", workflows.UpdateWriteFile, func() error {
			return write(workflows.WriteFileRequest{SpriteName: "box", Path: "a.txt", Content: "x", Mode: "999"})
		}},
		{"delete an unknown sprite", workflows.UpdateDeleteSprite, func() error {
			_, err := s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{SpriteName: "ghost"})
			return err
		}},
		{"checkpoint with an oversized comment", workflows.UpdateCheckpoint, func() error {
			_, err := s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: "box", Comment: strings.Repeat("c", 2000)})
			return err
		}},
		{"restore without a checkpoint ID", workflows.UpdateRestoreCheckpoint, func() error { return restore("") }},
		{"restore a malformed checkpoint ID", workflows.UpdateRestoreCheckpoint, func() error { return restore("../v1") }},
		{"service URL of an unknown sprite", workflows.UpdateServiceURL, func() error {
			_, err := s.ServiceURL(ctx, workflows.ServiceURLRequest{SpriteName: "ghost"})
			return err
		}},
		{"risky step without sprites", workflows.UpdateRunRiskyStep, func() error {
			return risky(workflows.RiskyStepRequest{Steps: []workflows.RiskyCommand{{Command: "true"}}})
		}},
		{"risky step without steps", workflows.UpdateRunRiskyStep, func() error {
			return risky(workflows.RiskyStepRequest{Sprites: []string{"box"}})
		}},
		{"risky step on a sprite it did not name", workflows.UpdateRunRiskyStep, func() error {
			return risky(workflows.RiskyStepRequest{Sprites: []string{"box"},
				Steps: []workflows.RiskyCommand{{SpriteName: "other", Command: "true"}}})
		}},
	}

	before := len(env.History(t, s.WorkflowID(), ""))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantRejected(t, tc.op, tc.send())
		})
	}
	if after := len(env.History(t, s.WorkflowID(), "")); after != before {
		t.Errorf("%d rejected updates changed the history from %d to %d events", len(cases), before, after)
	}

	// A bad session ID is refused by the starter itself: no workflow starts.
	bad := env.Starter.Session("not a valid id!")
	_, err := bad.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})
	wantRejected(t, workflows.UpdateCreateSprite, err)
	var notFound *serviceerror.NotFound
	if _, err := env.Client.DescribeWorkflowExecution(ctx, bad.WorkflowID(), ""); !errors.As(err, &notFound) {
		t.Errorf("a session with a bad ID was started: describe = %v", err)
	}

	// The session is unharmed.
	r := call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo still here"})).must(t, "exec after the rejections")
	if r.Stdout != "still here\n" {
		t.Errorf("exec after the rejections: %+v", r)
	}
	d := call(s.Describe(ctx)).must(t, "Describe")
	if d.State != workflows.StateActive || len(d.Sprites) != 1 || d.Counters.SpritesCreated != 1 {
		t.Errorf("Describe after the rejections = %+v", d)
	}

	call(s.End(ctx, workflows.EndSessionRequest{})).must(t, "End")
	env.AssertNoSprites(t)
}
