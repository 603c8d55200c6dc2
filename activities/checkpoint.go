package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// CheckpointInput checkpoints a sprite.
type CheckpointInput struct {
	ProviderName string `json:"provider_name"`
	Comment      string `json:"comment,omitempty"`
}

// CheckpointOutput names the checkpoint.
type CheckpointOutput struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// Checkpoint takes a checkpoint and confirms it by listing. A failed stream
// is a retryable CheckpointFailed: a retry takes another checkpoint, which
// only costs a checkpoint.
func (a *Activities) Checkpoint(ctx context.Context, in CheckpointInput) (CheckpointOutput, error) {
	op := "checkpoint " + in.ProviderName
	stop := a.keepAlive(ctx)
	cp, err := a.client.CreateCheckpoint(ctx, in.ProviderName, in.Comment, nil)
	stop()
	if err != nil {
		var apiErr *sprites.APIError
		if cp != nil && cp.ID != "" && (errors.As(err, &apiErr) || sprites.IsRetryable(err)) {
			// The stream completed and named the checkpoint; only the
			// confirming list failed. Retrying would take a second one.
			activity.GetLogger(ctx).Warn("checkpoint created but not confirmed by listing",
				"sprite", in.ProviderName, "checkpoint", cp.ID, "error", err)
			return CheckpointOutput{ID: cp.ID, CreatedAt: cp.CreateTime}, nil
		}
		return CheckpointOutput{}, classifyStream(op, ErrTypeCheckpointFailed, err)
	}
	return CheckpointOutput{ID: cp.ID, CreatedAt: cp.CreateTime}, nil
}

// RestoreInput restores a checkpoint.
type RestoreInput struct {
	ProviderName string `json:"provider_name"`
	CheckpointID string `json:"checkpoint_id"`
}

// Restore restores a checkpoint, reading the stream to its end. An unknown
// checkpoint is NotFound; another failed stream is a retryable RestoreFailed.
func (a *Activities) Restore(ctx context.Context, in RestoreInput) error {
	op := "restore checkpoint " + in.CheckpointID + " of " + in.ProviderName
	if in.CheckpointID == "" {
		return invalid("%s: empty checkpoint ID", op)
	}
	stop := a.keepAlive(ctx)
	err := a.client.RestoreCheckpoint(ctx, in.ProviderName, in.CheckpointID, nil)
	stop()
	if err != nil {
		return classifyStream(op, ErrTypeRestoreFailed, err)
	}
	return nil
}

// keepAlive heartbeats (see heartbeatEvery) until stop is called, so a
// long stream neither trips a heartbeat timeout nor misses a cancellation.
func (a *Activities) keepAlive(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	every := a.heartbeatEvery(ctx)
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
