// Package workflows holds the session workflow, its risky-step saga, and the
// wire contract (this file) that the worker, the starter and the CLI share.
package workflows

import (
	"encoding/json"
	"time"
)

// DefaultTaskQueue is the task queue the worker polls unless configured.
const DefaultTaskQueue = "sprite-sessions"

// SessionWorkflowName is the registered name of SessionWorkflow.
const SessionWorkflowName = "SessionWorkflow"

// workflowIDPrefix starts every session's workflow ID.
const workflowIDPrefix = "session/"

// SessionWorkflowID is the workflow ID of a session: "session/<session-id>".
func SessionWorkflowID(sessionID string) string { return workflowIDPrefix + sessionID }

// Update names. Every sprite operation is an update on the session.
const (
	UpdateCreateSprite      = "CreateSprite"
	UpdateExec              = "Exec"
	UpdateReadFile          = "ReadFile"
	UpdateWriteFile         = "WriteFile"
	UpdateDeleteSprite      = "DeleteSprite"
	UpdateCheckpoint        = "Checkpoint"
	UpdateRestoreCheckpoint = "RestoreCheckpoint"
	UpdateServiceURL        = "ServiceURL"
	UpdateRunRiskyStep      = "RunRiskyStep"
	UpdateEndSession        = "EndSession"
)

// Query names.
const (
	QueryListSprites = "ListSprites"
	QueryDescribe    = "Describe"
)

// ErrTypeRejected is the application error type of every validator
// rejection: the update was refused and nothing was written to history.
const ErrTypeRejected = "Rejected"

// ErrTypeContinuing is the application error type of a validator rejection
// that means "retry shortly": the session is moving to a new run
// (continue-as-new) and admits no new operation until the ones in flight
// have finished. Only a session that stayed busy without a pause while its
// history doubled past the server's suggestion refuses calls this way; most
// sessions find a moment with nothing in flight first and refuse nothing.
// Nothing was written to history; the same request, with the
// same update ID, succeeds once the new run is up, usually within a second
// (at worst after the longest operation in flight). The starter retries it
// transparently; a caller sending raw updates should retry it with a short
// backoff. EndSession and the queries are never refused this way.
const ErrTypeContinuing = "SessionContinuing"

// ErrTypeSpriteGone is the application error type of an accepted operation
// whose sprite was deleted, or became tainted, while the operation waited for
// its turn on the sprite.
const ErrTypeSpriteGone = "SpriteGone"

// ErrTypeSessionEnding is the application error type of an accepted
// operation cancelled because the session began to end.
const ErrTypeSessionEnding = "SessionEnding"

// ErrTypeSpriteLimit is the application error type of an accepted create
// that found the session at its MaxSprites once its turn came (creates of
// other names, accepted together, took the last places).
const ErrTypeSpriteLimit = "SpriteLimit"

// ErrTypeTimeout is the application error type of an accepted operation
// whose activity timed out (its retries, if any, exhausted).
const ErrTypeTimeout = "Timeout"

// Limits and defaults of the session. A request outside a limit is rejected.
const (
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultMaxLifetime   = 24 * time.Hour
	DefaultOutputCap     = 256 << 10 // bytes per stream in an answer
	MaxOutputCap         = 512 << 10 // stays far below Temporal's 2 MB payload limit
	DefaultMaxWriteBytes = 1 << 20
	MaxWriteBytesLimit   = 1536 << 10
	DefaultExecTimeout   = 120 * time.Second
	MaxExecTimeout       = 600 * time.Second
	DefaultCPUs          = 1
	DefaultMemoryMB      = 512
	// DefaultMaxSprites bounds the sprites a session owns at once; a create
	// beyond it is rejected. MaxSpritesLimit bounds the setting: a session's
	// state, sprites included, travels in every continue-as-new input.
	DefaultMaxSprites = 20
	MaxSpritesLimit   = 200
	// WorkspacePath is a sprite's home and the default working directory.
	WorkspacePath = "/home/sprite"
)

// MaxRequestBytes bounds an update's request as JSON; a larger one is
// rejected. Temporal does not refuse a larger update itself: it accepts it
// and then fails the whole session, skipping its cleanup, because the
// accepted request (and the activity input carrying it) exceed its 2 MiB
// payload limit. Escaping counts: '<', '>', '&' and control bytes take six
// bytes each.
const MaxRequestBytes = 1792 << 10

// SessionConfig are a session's limits, fixed when the session starts (a
// worker-side default would change a running workflow's behaviour on replay).
// Zero fields take the defaults above.
type SessionConfig struct {
	IdleTimeout   time.Duration `json:"idle_timeout,omitempty"`
	MaxLifetime   time.Duration `json:"max_lifetime,omitempty"`
	OutputCap     int           `json:"output_cap,omitempty"`
	MaxWriteBytes int           `json:"max_write_bytes,omitempty"`
	MaxSprites    int           `json:"max_sprites,omitempty"`
}

// SessionInput starts a session, or continues it after continue-as-new
// (State is then non-nil).
type SessionInput struct {
	SessionID string        `json:"session_id"`
	Config    SessionConfig `json:"config"`
	State     *SessionState `json:"state,omitempty"`
}

// SessionResult is what a session returns when it closes.
type SessionResult struct {
	SessionID string `json:"session_id"`
	// Reason is one of the EndReason values.
	Reason string `json:"reason"`
	// Deleted lists the logical names of the sprites cleanup deleted.
	Deleted []string `json:"deleted"`
	// Failed lists sprites cleanup could not confirm gone (the reaper
	// takes them over).
	Failed []string `json:"failed,omitempty"`
}

// Why a session ended.
const (
	EndReasonEnded     = "ended"
	EndReasonIdle      = "idle_timeout"
	EndReasonLifetime  = "max_lifetime"
	EndReasonCancelled = "cancelled"
	EndReasonFailed    = "failed"
)

// Session states as Describe reports them.
const (
	StateActive = "active"
	StateEnding = "ending"
	StateEnded  = "ended"
)

// SessionState is the state carried over continue-as-new.
type SessionState struct {
	// Sprites by logical name.
	Sprites map[string]*SpriteState `json:"sprites"`
	// StartedAt is when the session (its first run) started.
	StartedAt time.Time `json:"started_at"`
	// RecentUpdateIDs are the IDs of recently completed updates, oldest first,
	// bounded; an update whose ID is listed is answered from RecentResults.
	RecentUpdateIDs []string `json:"recent_update_ids,omitempty"`
	// RecentResults holds, by update ID, the JSON answers of recent updates
	// that were small enough to keep. A repeated update whose answer was not
	// kept is rejected as a duplicate instead of being run twice.
	RecentResults map[string]json.RawMessage `json:"recent_results,omitempty"`
	// Orphans are logical names whose create failed in a way that may have
	// left a sprite behind; cleanup deletes them too.
	Orphans []string `json:"orphans,omitempty"`
	// LastActivityAt is when the last update was accepted or finished; the
	// idle timeout counts from it.
	LastActivityAt time.Time `json:"last_activity_at,omitempty"`
	Counters       Counters  `json:"counters"`
	// Runs counts continue-as-new generations.
	Runs int `json:"runs"`
}

// SpriteState is what the session knows of one sprite it owns. Checkpoints
// lists the most recent checkpoints the session took, oldest first; older
// ones stay at the provider and can still be restored by ID.
type SpriteState struct {
	SpriteName   string           `json:"sprite_name"`
	ProviderName string           `json:"provider_name"`
	Status       string           `json:"status"`
	URL          string           `json:"url,omitempty"`
	PublicURL    bool             `json:"public_url,omitempty"`
	CPUs         int              `json:"cpus"`
	MemoryMB     int              `json:"memory_mb"`
	CreatedAt    time.Time        `json:"created_at"`
	Checkpoints  []CheckpointInfo `json:"checkpoints,omitempty"`
	// Tainted is set when an automatic restore failed: the sprite's files are
	// in an unknown state, so only RestoreCheckpoint and DeleteSprite are
	// allowed until one succeeds.
	Tainted bool `json:"tainted,omitempty"`
}

// CheckpointInfo is one checkpoint the session took.
type CheckpointInfo struct {
	ID        string    `json:"checkpoint_id"`
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Counters count what the session did. Rejected updates are not among them:
// a rejection leaves nothing in history, so the session cannot count it
// deterministically (the sprite_sessions_update metric with outcome
// "rejected" does).
type Counters struct {
	Updates        int `json:"updates"`
	Failed         int `json:"failed"`
	SpritesCreated int `json:"sprites_created"`
	SpritesDeleted int `json:"sprites_deleted"`
	Execs          int `json:"execs"`
	Checkpoints    int `json:"checkpoints"`
	Restores       int `json:"restores"`
	RiskySteps     int `json:"risky_steps"`
	RiskyRestored  int `json:"risky_restored"`
}

// CreateSpriteRequest creates a sprite owned by the session. Creating a name
// the session already owns answers with that sprite (idempotent).
type CreateSpriteRequest struct {
	// SpriteName is the logical name: 1-63 chars of [a-z0-9-], no leading or
	// trailing '-'.
	SpriteName string `json:"sprite_name"`
	CPUs       int    `json:"cpus,omitempty"`      // 1-8, default 1
	MemoryMB   int    `json:"memory_mb,omitempty"` // 256-16384, default 512
	// PublicURL makes the sprite's URL reachable without auth.
	PublicURL bool `json:"public_url,omitempty"`
}

// CreateSpriteResponse describes the created (or already owned) sprite.
type CreateSpriteResponse struct {
	SpriteName    string `json:"sprite_name"`
	Status        string `json:"status"`
	WorkspacePath string `json:"workspace_path"`
	ServiceURL    string `json:"service_url,omitempty"`
	// Created is false when the session already owned the sprite.
	Created bool `json:"created"`
}

// ExecRequest runs a command. Exactly one of Command (run as `sh -lc`) and
// Argv is set.
type ExecRequest struct {
	SpriteName string   `json:"sprite_name"`
	Command    string   `json:"command,omitempty"`
	Argv       []string `json:"argv,omitempty"`
	// Env adds variables to the sprite's default environment.
	Env map[string]string `json:"env,omitempty"`
	Dir string            `json:"dir,omitempty"`
	// TimeoutMS bounds the command (default 120000, max 600000).
	TimeoutMS int64  `json:"timeout,omitempty"`
	Stdin     string `json:"stdin,omitempty"`
}

// ExecResponse is a finished command. Output beyond the session's output cap
// is cut and flagged.
type ExecResponse struct {
	SpriteName      string `json:"sprite_name"`
	ExitCode        int    `json:"exit_code"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdout_truncated,omitempty"`
	StderrTruncated bool   `json:"stderr_truncated,omitempty"`
	// TimedOut is set when the command was killed at its timeout.
	TimedOut   bool  `json:"timed_out,omitempty"`
	DurationMS int64 `json:"duration_ms"`
}

// ReadFileRequest reads a file; relative paths resolve against the workspace.
type ReadFileRequest struct {
	SpriteName string `json:"sprite_name"`
	Path       string `json:"path"`
}

// Content encodings of file contents.
const (
	EncodingUTF8   = "utf-8"
	EncodingBase64 = "base64"
)

// ReadFileResponse carries the content: UTF-8 text as is, other bytes base64.
type ReadFileResponse struct {
	SpriteName string `json:"sprite_name"`
	Path       string `json:"path"`
	Content    string `json:"content"`
	Encoding   string `json:"encoding"`
	Size       int64  `json:"size"`
	Truncated  bool   `json:"truncated,omitempty"`
}

// WriteFileRequest writes a file, creating parent directories.
type WriteFileRequest struct {
	SpriteName string `json:"sprite_name"`
	Path       string `json:"path"`
	Content    string `json:"content"`
	// Encoding is "utf-8" (default) or "base64".
	Encoding string `json:"encoding,omitempty"`
	// Mode is an octal string such as "0644" (default) or "0755".
	Mode string `json:"mode,omitempty"`
}

// WriteFileResponse confirms a write.
type WriteFileResponse struct {
	Path    string `json:"path"`
	Success bool   `json:"success"`
	Size    int64  `json:"size"`
}

// ListSpritesResponse answers the ListSprites query.
type ListSpritesResponse struct {
	Sprites []SpriteInfo `json:"sprites"`
	Count   int          `json:"count"`
}

// SpriteInfo describes one owned sprite.
type SpriteInfo struct {
	SpriteName    string           `json:"sprite_name"`
	ProviderName  string           `json:"provider_name"`
	Status        string           `json:"status"`
	StartedAt     time.Time        `json:"started_at"`
	WorkspacePath string           `json:"workspace_path"`
	ServiceURL    string           `json:"service_url,omitempty"`
	Checkpoints   []CheckpointInfo `json:"checkpoints,omitempty"`
	Tainted       bool             `json:"tainted,omitempty"`
}

// DeleteSpriteRequest deletes an owned sprite.
type DeleteSpriteRequest struct {
	SpriteName string `json:"sprite_name"`
}

// DeleteSpriteResponse confirms the sprite is gone.
type DeleteSpriteResponse struct {
	SpriteName string `json:"sprite_name"`
	Action     string `json:"action"` // "delete"
	Success    bool   `json:"success"`
}

// CheckpointRequest checkpoints an owned sprite.
type CheckpointRequest struct {
	SpriteName string `json:"sprite_name"`
	Comment    string `json:"comment,omitempty"`
}

// CheckpointResponse names the new checkpoint.
type CheckpointResponse struct {
	SpriteName   string    `json:"sprite_name"`
	CheckpointID string    `json:"checkpoint_id"`
	Success      bool      `json:"success"`
	CreatedAt    time.Time `json:"created_at"`
}

// RestoreCheckpointRequest restores one of the sprite's checkpoints.
type RestoreCheckpointRequest struct {
	SpriteName   string `json:"sprite_name"`
	CheckpointID string `json:"checkpoint_id"`
}

// RestoreCheckpointResponse confirms the restore.
type RestoreCheckpointResponse struct {
	SpriteName   string `json:"sprite_name"`
	CheckpointID string `json:"checkpoint_id"`
	Restored     bool   `json:"restored"`
}

// ServiceURLRequest asks for a sprite's URL.
type ServiceURLRequest struct {
	SpriteName string `json:"sprite_name"`
}

// ServiceURLResponse carries the URL and the services defined on the sprite.
type ServiceURLResponse struct {
	SpriteName string   `json:"sprite_name"`
	Status     string   `json:"status"`
	URL        string   `json:"url,omitempty"`
	Public     bool     `json:"public"`
	Services   []string `json:"services,omitempty"`
}

// RiskyCommand is one command of a risky step.
type RiskyCommand struct {
	// SpriteName may be empty when the step names exactly one sprite.
	SpriteName string   `json:"sprite_name,omitempty"`
	Command    string   `json:"command,omitempty"`
	Argv       []string `json:"argv,omitempty"`
	// Env adds variables to the sprite's default environment.
	Env       map[string]string `json:"env,omitempty"`
	Dir       string            `json:"dir,omitempty"`
	TimeoutMS int64             `json:"timeout,omitempty"`
}

// RiskyStepRequest runs steps under a checkpoint of every named sprite,
// restoring all of them when a step or the verify command fails.
type RiskyStepRequest struct {
	Sprites []string       `json:"sprites"`
	Steps   []RiskyCommand `json:"steps"`
	Verify  *RiskyCommand  `json:"verify,omitempty"`
	Comment string         `json:"comment,omitempty"`
}

// StepOutput is the outcome of one command of a risky step.
type StepOutput struct {
	SpriteName string `json:"sprite_name"`
	ExitCode   int    `json:"exit_code"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	Truncated  bool   `json:"truncated,omitempty"`
	TimedOut   bool   `json:"timed_out,omitempty"`
	// Error is set when the command could not be run to an exit code.
	Error string `json:"error,omitempty"`
}

// RiskyStepResponse reports a risky step.
type RiskyStepResponse struct {
	Success bool `json:"success"`
	// FailedStep is the index of the failed step, len(Steps) for the verify
	// command, or -1.
	FailedStep int `json:"failed_step"`
	// Reason explains the failure in one line.
	Reason string `json:"reason,omitempty"`
	// CheckpointFailed names the sprite whose checkpoint failed (no step ran).
	CheckpointFailed string       `json:"checkpoint_failed,omitempty"`
	Steps            []StepOutput `json:"steps"`
	Verify           *StepOutput  `json:"verify,omitempty"`
	// Checkpoints maps sprite name to the checkpoint taken before the steps.
	Checkpoints map[string]string `json:"checkpoints"`
	Restored    bool              `json:"restored"`
	// Tainted lists sprites whose restore failed after its retries.
	Tainted []string `json:"tainted,omitempty"`
}

// EndSessionRequest ends the session; its sprites are deleted before the
// answer returns.
type EndSessionRequest struct {
	Reason string `json:"reason,omitempty"`
}

// EndSessionResponse lists what cleanup deleted.
type EndSessionResponse struct {
	Deleted []string `json:"deleted"`
	Failed  []string `json:"failed,omitempty"`
}

// DescribeResponse answers the Describe query.
type DescribeResponse struct {
	SessionID        string        `json:"session_id"`
	State            string        `json:"state"`
	Sprites          []SpriteInfo  `json:"sprites"`
	Counters         Counters      `json:"counters"`
	StartedAt        time.Time     `json:"started_at"`
	IdleDeadline     time.Time     `json:"idle_deadline"`
	LifetimeDeadline time.Time     `json:"lifetime_deadline"`
	Runs             int           `json:"runs"`
	Config           SessionConfig `json:"config"`
}
