package workflows

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// register installs one sprite operation as an update. Every operation gets
// the same frame: the validator refuses requests over MaxRequestBytes,
// duplicates of updates completed in an earlier run (unless their answer was
// kept), anything once the session is ending, anything while the run drains
// for continue-as-new (with ErrTypeContinuing: retry), and whatever validate
// refuses; the handler answers a kept duplicate from memory, tracks itself
// for cancellation and the idle timeout, counts, and remembers its answer.
func register[Req, Resp any](
	ctx workflow.Context,
	s *session,
	name string,
	validate func(Req) error,
	run func(workflow.Context, Req) (Resp, error),
) error {
	handler := func(ctx workflow.Context, req Req) (Resp, error) {
		id := updateID(ctx)
		if resp, ok := recall[Resp](s, id); ok {
			countUpdate(ctx, name, outcomeDuplicate)
			return resp, nil
		}
		hctx, done := s.begin(ctx)
		defer done()
		s.st.Counters.Updates++
		resp, err := run(hctx, req)
		if err != nil {
			s.st.Counters.Failed++
			countUpdate(ctx, name, outcomeFailed)
			err = s.interrupted(err)
			s.logger.Warn("Operation failed", "Update", name, "UpdateID", id, "Error", err)
			return resp, err
		}
		s.remember(id, resp)
		countUpdate(ctx, name, outcomeOK)
		return resp, nil
	}
	validator := func(ctx workflow.Context, req Req) error {
		if err := checkRequestSize(req); err != nil {
			return reject(ctx, name, err)
		}
		return s.admit(ctx, name, func() error { return validate(req) })
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, name, handler, workflow.UpdateHandlerOptions{Validator: validator})
}

// admit is the common part of every validator. It must not change state:
// validators do not run on replay.
func (s *session) admit(ctx workflow.Context, name string, validate func() error) error {
	id := updateID(ctx)
	if s.recent[id] {
		if _, kept := s.st.RecentResults[id]; kept {
			return nil // the handler answers it from memory
		}
		return reject(ctx, name, fmt.Errorf("update %q already completed in an earlier run of this session and its answer was too large to keep; send a new update ID to run it again", id))
	}
	if s.ending {
		return reject(ctx, name, errors.New("the session is ending: no new operations are accepted"))
	}
	// Set by the main loop when continue-as-new is due and the session never
	// ran out of operations in flight by itself.
	if s.draining {
		countUpdate(ctx, name, outcomeContinuing)
		return temporal.NewApplicationError(fmt.Sprintf("%s rejected: the session is moving to a new run; retry shortly", name), ErrTypeContinuing)
	}
	if err := validate(); err != nil {
		return reject(ctx, name, err)
	}
	return nil
}

// checkRequestSize refuses a request that would push the accepted update
// past Temporal's payload limit (see MaxRequestBytes).
func checkRequestSize(req any) error {
	// Validators do not run on replay; encoding/json's reflection is fine.
	b, err := json.Marshal(req) //workflowcheck:ignore
	if err != nil {
		return fmt.Errorf("the request cannot be encoded: %w", err)
	}
	if len(b) > MaxRequestBytes {
		return fmt.Errorf("the request encodes to %d bytes, over the %d-byte limit of one update (Temporal would end the session): split it into smaller requests", len(b), MaxRequestBytes)
	}
	return nil
}

func reject(ctx workflow.Context, name string, err error) error {
	countUpdate(ctx, name, outcomeRejected)
	return temporal.NewApplicationError(fmt.Sprintf("%s rejected: %v", name, err), ErrTypeRejected)
}

// interrupted turns the cancellation of an operation (the session ended, or
// was cancelled, while it ran) into an error that says so.
func (s *session) interrupted(err error) error {
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return temporal.NewApplicationErrorWithCause("operation cancelled: the session is ending", ErrTypeSessionEnding, err)
	}
	return err
}

func updateID(ctx workflow.Context) string {
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil {
		return info.ID
	}
	return ""
}
