package starter

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Session is a handle on one session. Its methods map one to one to the
// session workflow's updates and queries. It is safe for concurrent use: the
// session serializes operations on the same sprite itself.
type Session struct {
	c          *Client
	id         string
	workflowID string
}

// ID returns the session ID.
func (s *Session) ID() string { return s.id }

// WorkflowID returns the session workflow's ID.
func (s *Session) WorkflowID() string { return s.workflowID }

// CreateSprite creates a sprite owned by the session, starting the session
// if needed. Creating a name the session already owns answers with it.
func (s *Session) CreateSprite(ctx context.Context, req workflows.CreateSpriteRequest, opts ...CallOption) (workflows.CreateSpriteResponse, error) {
	return update[workflows.CreateSpriteResponse](ctx, s, workflows.UpdateCreateSprite, req, opts)
}

// Exec runs a command. A non-zero exit code is an answer, not an error.
func (s *Session) Exec(ctx context.Context, req workflows.ExecRequest, opts ...CallOption) (workflows.ExecResponse, error) {
	return update[workflows.ExecResponse](ctx, s, workflows.UpdateExec, req, opts)
}

// ReadFile reads a file from a sprite.
func (s *Session) ReadFile(ctx context.Context, req workflows.ReadFileRequest, opts ...CallOption) (workflows.ReadFileResponse, error) {
	return update[workflows.ReadFileResponse](ctx, s, workflows.UpdateReadFile, req, opts)
}

// WriteFile writes a file into a sprite, creating parent directories.
// Content over workflows.MaxWriteBytesLimit is rejected here: sent, it would
// fail in gRPC with a size error instead of the session's own rejection.
func (s *Session) WriteFile(ctx context.Context, req workflows.WriteFileRequest, opts ...CallOption) (workflows.WriteFileResponse, error) {
	size := len(req.Content)
	if req.Encoding == workflows.EncodingBase64 {
		size = base64.StdEncoding.DecodedLen(len(req.Content))
	}
	if size > workflows.MaxWriteBytesLimit {
		return workflows.WriteFileResponse{}, &RejectedError{Op: workflows.UpdateWriteFile,
			Message: fmt.Sprintf("content is %d bytes; a write takes at most %d", size, workflows.MaxWriteBytesLimit)}
	}
	return update[workflows.WriteFileResponse](ctx, s, workflows.UpdateWriteFile, req, opts)
}

// DeleteSprite deletes a sprite the session owns.
func (s *Session) DeleteSprite(ctx context.Context, req workflows.DeleteSpriteRequest, opts ...CallOption) (workflows.DeleteSpriteResponse, error) {
	return update[workflows.DeleteSpriteResponse](ctx, s, workflows.UpdateDeleteSprite, req, opts)
}

// Checkpoint checkpoints a sprite.
func (s *Session) Checkpoint(ctx context.Context, req workflows.CheckpointRequest, opts ...CallOption) (workflows.CheckpointResponse, error) {
	return update[workflows.CheckpointResponse](ctx, s, workflows.UpdateCheckpoint, req, opts)
}

// RestoreCheckpoint restores one of a sprite's checkpoints.
func (s *Session) RestoreCheckpoint(ctx context.Context, req workflows.RestoreCheckpointRequest, opts ...CallOption) (workflows.RestoreCheckpointResponse, error) {
	return update[workflows.RestoreCheckpointResponse](ctx, s, workflows.UpdateRestoreCheckpoint, req, opts)
}

// ServiceURL returns a sprite's URL and services.
func (s *Session) ServiceURL(ctx context.Context, req workflows.ServiceURLRequest, opts ...CallOption) (workflows.ServiceURLResponse, error) {
	return update[workflows.ServiceURLResponse](ctx, s, workflows.UpdateServiceURL, req, opts)
}

// RunRiskyStep runs steps under a checkpoint of every named sprite and
// restores them all when a step or the verify command fails. A failed and
// restored step is an answer (Success false, Restored true), not an error.
func (s *Session) RunRiskyStep(ctx context.Context, req workflows.RiskyStepRequest, opts ...CallOption) (workflows.RiskyStepResponse, error) {
	return update[workflows.RiskyStepResponse](ctx, s, workflows.UpdateRunRiskyStep, req, opts)
}

// End ends the session: every sprite it owns is deleted before the answer
// returns. It never starts a session: on a session that was never started it
// returns an error wrapping ErrSessionNotFound, on an ended one
// ErrSessionClosed.
func (s *Session) End(ctx context.Context, req workflows.EndSessionRequest, opts ...CallOption) (workflows.EndSessionResponse, error) {
	var resp workflows.EndSessionResponse
	op := workflows.UpdateEndSession
	if err := s.validate(op); err != nil {
		return resp, err
	}
	o := newCallOptions(op, opts)
	h, err := s.c.tc.UpdateWorkflow(ctx, s.updateOptions(op, o.updateID, req))
	if err == nil {
		err = h.Get(ctx, &resp)
	}
	if err != nil {
		return resp, s.explain(ctx, op, err)
	}
	return resp, nil
}

// ListSprites lists the sprites the session owns.
func (s *Session) ListSprites(ctx context.Context) (workflows.ListSpritesResponse, error) {
	return query[workflows.ListSpritesResponse](ctx, s, workflows.QueryListSprites)
}

// Describe reports the session's state, sprites, counters and deadlines. It
// also answers for an ended session (state "ended", no sprites).
func (s *Session) Describe(ctx context.Context) (workflows.DescribeResponse, error) {
	return query[workflows.DescribeResponse](ctx, s, workflows.QueryDescribe)
}

// Wait blocks until the session closes and returns its result, following
// continue-as-new to the last run.
func (s *Session) Wait(ctx context.Context) (workflows.SessionResult, error) {
	var res workflows.SessionResult
	const op = "Wait"
	if err := s.validate(op); err != nil {
		return res, err
	}
	if err := s.c.tc.GetWorkflow(ctx, s.workflowID, "").Get(ctx, &res); err != nil {
		return res, classify(op, s.id, err)
	}
	return res, nil
}

// validate rejects a bad session ID before any call: the workflow would
// never see it, and the server would accept almost any workflow ID.
func (s *Session) validate(op string) error {
	if err := workflows.ValidateSessionID(s.id); err != nil {
		return &RejectedError{Op: op, Message: err.Error()}
	}
	return nil
}

func (s *Session) updateOptions(op, updateID string, req any) client.UpdateWorkflowOptions {
	return client.UpdateWorkflowOptions{
		WorkflowID:   s.workflowID,
		UpdateID:     updateID,
		UpdateName:   op,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
}

func (s *Session) startInput() workflows.SessionInput {
	return workflows.SessionInput{SessionID: s.id, Config: s.c.config}
}

// update sends one update with start, retrying it while the session
// continues as new. The start operation is built per attempt because a
// WithStartWorkflowOperation can be used only once.
func update[Resp any](ctx context.Context, s *Session, op string, req any, opts []CallOption) (Resp, error) {
	var resp Resp
	if err := s.validate(op); err != nil {
		return resp, err
	}
	o := newCallOptions(op, opts)
	err, stopped := s.c.retry.do(ctx, func() error {
		start := s.c.tc.NewWithStartWorkflowOperation(s.c.startOptions(s.workflowID), workflows.SessionWorkflowName, s.startInput())
		h, err := s.c.tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: start,
			UpdateOptions:          s.updateOptions(op, o.updateID, req),
		})
		if err == nil {
			err = h.Get(ctx, &resp)
		}
		return err
	})
	switch {
	case err != nil && stopped != nil:
		return resp, fmt.Errorf("%w (stopped retrying: %w)", classify(op, s.id, err), stopped)
	case err != nil:
		return resp, classify(op, s.id, err)
	}
	return resp, nil
}

func query[Resp any](ctx context.Context, s *Session, op string) (Resp, error) {
	var resp Resp
	if err := s.validate(op); err != nil {
		return resp, err
	}
	v, err := s.c.tc.QueryWorkflow(ctx, s.workflowID, "", op)
	if err == nil {
		err = v.Get(&resp)
	}
	if err != nil {
		return resp, classify(op, s.id, err)
	}
	return resp, nil
}

// explain classifies err and, when the server answered NotFound, tells a
// session that never ran from one that has closed (an update on a closed
// workflow is NotFound too).
func (s *Session) explain(ctx context.Context, op string, err error) error {
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return classify(op, s.id, err)
	}
	desc, derr := s.c.tc.DescribeWorkflowExecution(ctx, s.workflowID, "")
	if derr == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("%s on session %q: %w", op, s.id, ErrSessionClosed)
	}
	return classify(op, s.id, err)
}
