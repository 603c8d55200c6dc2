// Package activities carries out session operations against the Sprites API.
// Each activity is a method on Activities; every one is safe to retry.
package activities

import (
	"context"
	"errors"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Stable application error types. Workflows and callers match on these.
const (
	ErrTypeNotFound        = "NotFound"
	ErrTypeConflict        = "Conflict"
	ErrTypeInvalidArgument = "InvalidArgument"
	ErrTypeUnauthorized    = "Unauthorized"
	ErrTypeRateLimited     = "RateLimited"
	ErrTypeUnavailable     = "Unavailable"
	// ErrTypeExecLost: the exec socket was lost and the command's outcome is
	// unknown; it is never run again.
	ErrTypeExecLost = "ExecLost"
	// ErrTypeCheckpointFailed / ErrTypeRestoreFailed: the stream reported an
	// error event or ended without completing.
	ErrTypeCheckpointFailed = "CheckpointFailed"
	ErrTypeRestoreFailed    = "RestoreFailed"
)

// Options tune the activities.
type Options struct {
	// HeartbeatInterval is how often a running exec heartbeats (default 5s).
	HeartbeatInterval time.Duration
	// MaxOutputCap bounds any requested output cap (default 512 KiB).
	MaxOutputCap int
}

// Activities holds the Sprites client every activity uses.
type Activities struct {
	client *sprites.Client
	opts   Options
}

// New returns the activities over client.
func New(client *sprites.Client, opts Options) *Activities {
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 5 * time.Second
	}
	if opts.MaxOutputCap <= 0 {
		opts.MaxOutputCap = 512 << 10
	}
	return &Activities{client: client, opts: opts}
}

var errNotImplemented = errors.New("activities: not implemented yet")

// CreateSpriteInput creates a sprite under its provider name.
type CreateSpriteInput struct {
	ProviderName string   `json:"provider_name"`
	Labels       []string `json:"labels"`
	PublicURL    bool     `json:"public_url,omitempty"`
	CPUs         int      `json:"cpus,omitempty"`
	MemoryMB     int      `json:"memory_mb,omitempty"`
}

// CreateSpriteOutput describes the sprite.
type CreateSpriteOutput struct {
	Status    string    `json:"status"`
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Existed is set when a 409 found the sprite already there with our
	// owner label (a retried create).
	Existed bool `json:"existed,omitempty"`
}

// CreateSprite creates the sprite; a 409 is success when the existing sprite
// carries the same owner label, a Conflict error otherwise.
func (a *Activities) CreateSprite(ctx context.Context, in CreateSpriteInput) (CreateSpriteOutput, error) {
	return CreateSpriteOutput{}, errNotImplemented
}

// DeleteSpriteInput names the sprite to delete.
type DeleteSpriteInput struct {
	ProviderName string `json:"provider_name"`
}

// DeleteSpriteOutput reports whether the sprite was still there.
type DeleteSpriteOutput struct {
	Existed bool `json:"existed"`
}

// DeleteSprite deletes the sprite and returns only once it is confirmed gone
// (a missing sprite is success; a 500 is confirmed by a get).
func (a *Activities) DeleteSprite(ctx context.Context, in DeleteSpriteInput) (DeleteSpriteOutput, error) {
	return DeleteSpriteOutput{}, errNotImplemented
}

// ExecInput runs argv in the sprite.
type ExecInput struct {
	ProviderName string            `json:"provider_name"`
	Argv         []string          `json:"argv"`
	Env          map[string]string `json:"env,omitempty"`
	Dir          string            `json:"dir,omitempty"`
	Stdin        string            `json:"stdin,omitempty"`
	Timeout      time.Duration     `json:"timeout"`
	// OutputCap bounds each of stdout and stderr in the answer.
	OutputCap int `json:"output_cap"`
}

// ExecOutput is a finished command.
type ExecOutput struct {
	ExitCode        int    `json:"exit_code"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdout_truncated,omitempty"`
	StderrTruncated bool   `json:"stderr_truncated,omitempty"`
	TimedOut        bool   `json:"timed_out,omitempty"`
	DurationMS      int64  `json:"duration_ms"`
	SessionID       int64  `json:"session_id,omitempty"`
}

// Exec runs a command over the exec WebSocket, heartbeating with the remote
// session ID so that a retry re-attaches instead of running it twice.
func (a *Activities) Exec(ctx context.Context, in ExecInput) (ExecOutput, error) {
	return ExecOutput{}, errNotImplemented
}

// ReadFileInput reads a file.
type ReadFileInput struct {
	ProviderName string `json:"provider_name"`
	Path         string `json:"path"`
	MaxBytes     int    `json:"max_bytes"`
}

// ReadFileOutput carries the content (UTF-8 as is, other bytes base64).
type ReadFileOutput struct {
	Content   string `json:"content"`
	Encoding  string `json:"encoding"`
	Size      int64  `json:"size"`
	Truncated bool   `json:"truncated,omitempty"`
}

// ReadFile reads a file from the sprite.
func (a *Activities) ReadFile(ctx context.Context, in ReadFileInput) (ReadFileOutput, error) {
	return ReadFileOutput{}, errNotImplemented
}

// WriteFileInput writes a file.
type WriteFileInput struct {
	ProviderName string `json:"provider_name"`
	Path         string `json:"path"`
	Content      string `json:"content"`
	Encoding     string `json:"encoding,omitempty"`
	Mode         string `json:"mode,omitempty"`
}

// WriteFileOutput confirms the write.
type WriteFileOutput struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// WriteFile writes a file into the sprite, creating parents.
func (a *Activities) WriteFile(ctx context.Context, in WriteFileInput) (WriteFileOutput, error) {
	return WriteFileOutput{}, errNotImplemented
}

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

// Checkpoint takes a checkpoint and confirms it by listing.
func (a *Activities) Checkpoint(ctx context.Context, in CheckpointInput) (CheckpointOutput, error) {
	return CheckpointOutput{}, errNotImplemented
}

// RestoreInput restores a checkpoint.
type RestoreInput struct {
	ProviderName string `json:"provider_name"`
	CheckpointID string `json:"checkpoint_id"`
}

// Restore restores a checkpoint, reading the stream to its end.
func (a *Activities) Restore(ctx context.Context, in RestoreInput) error {
	return errNotImplemented
}

// ServiceURLInput asks for a sprite's URL.
type ServiceURLInput struct {
	ProviderName string `json:"provider_name"`
}

// ServiceURLOutput carries the URL and services.
type ServiceURLOutput struct {
	Status   string   `json:"status"`
	URL      string   `json:"url,omitempty"`
	Public   bool     `json:"public"`
	Services []string `json:"services,omitempty"`
}

// ServiceURL returns the sprite's URL and its services.
func (a *Activities) ServiceURL(ctx context.Context, in ServiceURLInput) (ServiceURLOutput, error) {
	return ServiceURLOutput{}, errNotImplemented
}
