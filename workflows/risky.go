package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// riskyAnswerBudget bounds a risky step's answer. An update answer over
// Temporal's 2 MB payload limit fails the workflow task, so the outputs of
// all its commands share this budget.
const riskyAnswerBudget = 1 << 20

// maxErrorText bounds an error message carried in a step's output.
const maxErrorText = 1 << 10

const defaultRiskyComment = "sprite-sessions: before a risky step"

// runRiskyStep is the saga: checkpoint every named sprite, run the steps and
// the verify command, and restore every checkpoint when anything fails. It
// holds the locks of all its sprites throughout, taken in sorted order so
// overlapping sagas cannot deadlock.
func (s *session) runRiskyStep(ctx workflow.Context, req RiskyStepRequest) (RiskyStepResponse, error) {
	resp := RiskyStepResponse{FailedStep: -1, Steps: []StepOutput{}, Checkpoints: map[string]string{}}
	names := slices.Clone(req.Sprites)
	slices.Sort(names)
	unlock, err := s.lock(ctx, names...)
	if err != nil {
		return resp, err
	}
	defer unlock()
	sprites := map[string]*SpriteState{}
	for _, name := range names {
		sp, err := s.usable(name, false)
		if err != nil {
			return resp, err
		}
		sprites[name] = sp
	}
	s.st.Counters.RiskySteps++

	// 1. Checkpoint all sprites in parallel. If one fails nothing runs; the
	// checkpoints taken stay listed (they are harmless and may be useful).
	comment := req.Comment
	if comment == "" {
		comment = defaultRiskyComment
	}
	pending := make([]pendingCheckpoint, len(names))
	for i, name := range names {
		pending[i] = s.takeCheckpoint(ctx, sprites[name], comment)
	}
	for i, name := range names {
		cp, err := pending[i].get(ctx)
		if err != nil {
			if resp.CheckpointFailed == "" {
				resp.CheckpointFailed = name
				resp.Reason = clip(fmt.Sprintf("checkpoint of sprite %q failed: %v", name, err), maxErrorText)
			}
			continue
		}
		resp.Checkpoints[name] = cp.ID
	}
	if resp.CheckpointFailed != "" {
		count(ctx, metricRiskyStep, map[string]string{"outcome": outcomeCheckpointFailed})
		s.logger.Warn("Risky step not run: checkpoint failed", "Sprite", resp.CheckpointFailed)
		return resp, nil
	}

	// 2. Run the steps in order, then verify; the first failure stops.
	commands := len(req.Steps)
	if req.Verify != nil {
		commands++
	}
	streamCap := min(s.cfg.OutputCap, riskyAnswerBudget/(2*commands))
	failed := false
	for i, step := range req.Steps {
		out := s.runRiskyCommand(ctx, sprites, names, step, streamCap)
		resp.Steps = append(resp.Steps, out)
		if why := commandFailure(out); why != "" {
			resp.FailedStep, resp.Reason, failed = i, fmt.Sprintf("step %d %s", i, why), true
			break
		}
	}
	if !failed && req.Verify != nil {
		out := s.runRiskyCommand(ctx, sprites, names, *req.Verify, streamCap)
		resp.Verify = &out
		if why := commandFailure(out); why != "" {
			resp.FailedStep, resp.Reason, failed = len(req.Steps), "verify "+why, true
		}
	}
	if !failed {
		resp.Success = true
		count(ctx, metricRiskyStep, map[string]string{"outcome": outcomeSuccess})
		boundAnswer(&resp)
		return resp, nil
	}

	// 3. Restore every sprite. The context is disconnected so a cancelled
	// update or session still restores; retries are bounded, and a sprite
	// whose restore still fails is tainted.
	s.restoreAll(ctx, names, sprites, &resp)
	boundAnswer(&resp)
	return resp, nil
}

// runRiskyCommand runs one step or the verify command; any failure to get an
// exit code is reported in the output, not as an error, so the saga goes on
// to restore.
func (s *session) runRiskyCommand(ctx workflow.Context, sprites map[string]*SpriteState, names []string, c RiskyCommand, streamCap int) StepOutput {
	name := c.SpriteName
	if name == "" {
		name = names[0] // the validator allows this only for a single sprite
	}
	out := StepOutput{SpriteName: name, ExitCode: -1}
	if err := ctx.Err(); err != nil {
		out.Error = "not run: the operation was cancelled"
		return out
	}
	res, err := s.runCommand(ctx, sprites[name], commandArgv(c.Command, c.Argv), c.Env, c.Dir, "", c.TimeoutMS, streamCap)
	s.st.Counters.Execs++
	if err != nil {
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) {
			out.Error = "cancelled: the operation or session was cancelled"
		} else {
			out.Error = clip(err.Error(), maxErrorText)
		}
		return out
	}
	out.ExitCode = res.ExitCode
	out.Stdout = res.Stdout
	out.Stderr = res.Stderr
	out.Truncated = res.StdoutTruncated || res.StderrTruncated
	out.TimedOut = res.TimedOut
	return out
}

// commandFailure says why a command failed, or "" if it succeeded.
func commandFailure(out StepOutput) string {
	switch {
	case out.Error != "":
		return "failed: " + out.Error
	case out.TimedOut:
		return "timed out"
	case out.ExitCode != 0:
		return fmt.Sprintf("exited with code %d", out.ExitCode)
	}
	return ""
}

// restoreAll restores every checkpointed sprite in parallel on a
// disconnected context.
func (s *session) restoreAll(ctx workflow.Context, names []string, sprites map[string]*SpriteState, resp *RiskyStepResponse) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	rctx := withOptions(dctx, streamOptions())
	futures := make([]workflow.Future, len(names))
	for i, name := range names {
		in := activities.RestoreInput{ProviderName: sprites[name].ProviderName, CheckpointID: resp.Checkpoints[name]}
		futures[i] = workflow.ExecuteActivity(rctx, acts.Restore, in)
	}
	for i, name := range names {
		if err := futures[i].Get(dctx, nil); err != nil {
			s.logger.Error("Automatic restore failed; sprite tainted", "Sprite", name, "CheckpointID", resp.Checkpoints[name], "Error", err)
			resp.Tainted = append(resp.Tainted, name)
			// The saga holds the lock, so the sprite is still in state.
			sprites[name].Tainted = true
			continue
		}
		s.st.Counters.Restores++
	}
	resp.Restored = len(resp.Tainted) == 0
	outcome := outcomeRestored
	if resp.Restored {
		s.st.Counters.RiskyRestored++
	} else {
		outcome = outcomeTainted
	}
	count(ctx, metricRiskyStep, map[string]string{"outcome": outcome})
	s.logger.Warn("Risky step failed; sprites restored", "FailedStep", resp.FailedStep, "Restored", resp.Restored, "Tainted", resp.Tainted)
}

// boundAnswer cuts outputs further if, once JSON-encoded, the answer is
// still over budget (escaping can make output several times longer than
// its bytes).
func boundAnswer(resp *RiskyStepResponse) {
	for range 8 {
		b, err := json.Marshal(resp) //workflowcheck:ignore (deterministic: map keys are sorted)
		if err != nil || len(b) <= riskyAnswerBudget {
			return
		}
		outs := make([]*StepOutput, 0, len(resp.Steps)+1)
		for i := range resp.Steps {
			outs = append(outs, &resp.Steps[i])
		}
		if resp.Verify != nil {
			outs = append(outs, resp.Verify)
		}
		for _, o := range outs {
			if half := len(o.Stdout) / 2; half > 0 {
				o.Stdout, o.Truncated = clip(o.Stdout, half), true
			}
			if half := len(o.Stderr) / 2; half > 0 {
				o.Stderr, o.Truncated = clip(o.Stderr, half), true
			}
		}
	}
}

// clip cuts s to at most n bytes at a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
