package sprites

// This file fixes the client's method signatures so that other packages can
// build against them while the bodies are written. It is replaced, method by
// method, by sprites.go, checkpoints.go, exec.go, fs.go, services.go and
// policy.go; it must be empty (deleted) when the client is complete.

import (
	"context"
	"errors"
	"io"
	"iter"
	"os"
	"strconv"
	"time"
)

var errNotImplemented = errors.New("sprites: not implemented yet")

// CreateSprite creates a sprite (201). A duplicate name is ErrConflict.
func (c *Client) CreateSprite(ctx context.Context, req CreateRequest) (*Sprite, error) {
	return nil, errNotImplemented
}

// GetSprite returns one sprite; a missing one is ErrNotFound (404, or the
// service's 500 "failed to retrieve sprite").
func (c *Client) GetSprite(ctx context.Context, name string) (*Sprite, error) {
	return nil, errNotImplemented
}

// ListSprites returns one page.
func (c *Client) ListSprites(ctx context.Context, opts ListOptions) (*ListPage, error) {
	return nil, errNotImplemented
}

// AllSprites iterates over every page, stopping on an empty continuation
// token even when has_more is true. An error ends the iteration.
func (c *Client) AllSprites(ctx context.Context, opts ListOptions) iter.Seq2[Sprite, error] {
	return func(yield func(Sprite, error) bool) { yield(Sprite{}, errNotImplemented) }
}

// UpdateSprite changes url_settings and/or labels.
func (c *Client) UpdateSprite(ctx context.Context, name string, req UpdateRequest) (*Sprite, error) {
	return nil, errNotImplemented
}

// DeleteSprite deletes a sprite (200/204). A missing sprite is ErrNotFound.
func (c *Client) DeleteSprite(ctx context.Context, name string) error {
	return errNotImplemented
}

// CreateCheckpoint takes a checkpoint and reads the stream to its end. The ID
// is parsed from the stream's text and confirmed by listing. progress, when
// non-nil, sees every event.
func (c *Client) CreateCheckpoint(ctx context.Context, sprite, comment string, progress func(StreamEvent)) (*Checkpoint, error) {
	return nil, errNotImplemented
}

// RestoreCheckpoint restores a checkpoint and reads the stream to its end;
// an error event or a missing complete event is a *StreamError.
func (c *Client) RestoreCheckpoint(ctx context.Context, sprite, id string, progress func(StreamEvent)) error {
	return errNotImplemented
}

// ListCheckpoints lists a sprite's checkpoints (with the "Current" pseudo-entry
// removed).
func (c *Client) ListCheckpoints(ctx context.Context, sprite string, includeAuto bool) ([]Checkpoint, error) {
	return nil, errNotImplemented
}

// GetCheckpoint returns one checkpoint.
func (c *Client) GetCheckpoint(ctx context.Context, sprite, id string) (*Checkpoint, error) {
	return nil, errNotImplemented
}

// Cmd runs a command in a sprite over the exec WebSocket. It is shaped like
// os/exec.Cmd.
type Cmd struct {
	// Sprite names the sprite.
	Sprite string
	// Path is the executable; empty means Args[0].
	Path string
	// Args is argv including argv[0].
	Args []string
	// Env, when non-nil, replaces the sprite's default environment (KEY=VALUE).
	Env []string
	// Dir is the working directory; empty means the server's default.
	Dir string
	// Stdin, Stdout and Stderr are streamed; nil Stdin sends stdin EOF at once,
	// nil Stdout/Stderr discard.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// MaxRunAfterDisconnect is how long the command survives a dropped socket
	// (server default 10s for non-TTY when zero).
	MaxRunAfterDisconnect time.Duration
	// SessionID, when non-zero, attaches to a running session instead of
	// starting a command; buffered output is replayed.
	SessionID int64
	// OnSession, when non-nil, is called once with the session ID as soon as
	// session_info arrives.
	OnSession func(id int64)

	client   *Client
	exitCode int
}

// Command returns a Cmd that runs args in sprite.
func (c *Client) Command(sprite string, args ...string) *Cmd {
	return &Cmd{Sprite: sprite, Args: args, client: c, exitCode: -1}
}

// Attach returns a Cmd that attaches to a running session.
func (c *Client) Attach(sprite string, sessionID int64) *Cmd {
	return &Cmd{Sprite: sprite, SessionID: sessionID, client: c, exitCode: -1}
}

// ExitError reports a command that exited with a non-zero code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "sprites: exit status " + strconv.Itoa(e.Code) }

// ConnectionLostError reports a socket that ended without an exit frame. The
// command may still be running; SessionID (0 when session_info never arrived)
// allows a re-attach.
type ConnectionLostError struct {
	SessionID int64
	Err       error
}

func (e *ConnectionLostError) Error() string {
	return "sprites: exec connection lost before the exit frame: " + errString(e.Err)
}

func (e *ConnectionLostError) Unwrap() error { return e.Err }

// Run starts (or attaches) and waits for the exit frame. A non-zero exit is
// an *ExitError; a socket that closes without an exit frame is a
// *ConnectionLostError, never a success.
func (cmd *Cmd) Run(ctx context.Context) error { return errNotImplemented }

// ExitCode is the exit code after Run, or -1.
func (cmd *Cmd) ExitCode() int { return cmd.exitCode }

// ExecHTTP runs a command with the non-interactive POST exec and returns its
// output and exit code.
func (c *Client) ExecHTTP(ctx context.Context, sprite string, args []string, env []string, dir string, stdin io.Reader) (stdout, stderr []byte, exitCode int, err error) {
	return nil, nil, -1, errNotImplemented
}

// ListSessions lists a sprite's exec sessions.
func (c *Client) ListSessions(ctx context.Context, sprite string) ([]ExecSession, error) {
	return nil, errNotImplemented
}

// KillSession signals a session (default SIGTERM, then SIGKILL after
// timeout). A session that already exited (410) is not an error.
func (c *Client) KillSession(ctx context.Context, sprite string, id int64, signal string, timeout time.Duration) error {
	return errNotImplemented
}

// ReadFile reads a file; relative paths resolve against /home/sprite.
func (c *Client) ReadFile(ctx context.Context, sprite, path string) ([]byte, error) {
	return nil, errNotImplemented
}

// WriteFile writes a file, creating parent directories.
func (c *Client) WriteFile(ctx context.Context, sprite, path string, data io.Reader, mode os.FileMode) (*WriteResult, error) {
	return nil, errNotImplemented
}

// ListFiles lists a directory (or stats a file: one entry).
func (c *Client) ListFiles(ctx context.Context, sprite, path string) (*FileList, error) {
	return nil, errNotImplemented
}

// DeleteFile deletes a file, or a directory when recursive.
func (c *Client) DeleteFile(ctx context.Context, sprite, path string, recursive bool) (*DeleteResult, error) {
	return nil, errNotImplemented
}

// ListServices lists a sprite's services.
func (c *Client) ListServices(ctx context.Context, sprite string) ([]ServiceWithState, error) {
	return nil, errNotImplemented
}

// GetService returns one service.
func (c *Client) GetService(ctx context.Context, sprite, name string) (*ServiceWithState, error) {
	return nil, errNotImplemented
}

// PutService creates or replaces a service and returns the events streamed
// for duration.
func (c *Client) PutService(ctx context.Context, sprite, name string, svc Service, duration time.Duration) ([]StreamEvent, error) {
	return nil, errNotImplemented
}

// StartService starts a service and returns its streamed events.
func (c *Client) StartService(ctx context.Context, sprite, name string, duration time.Duration) ([]StreamEvent, error) {
	return nil, errNotImplemented
}

// StopService stops a service and returns its streamed events.
func (c *Client) StopService(ctx context.Context, sprite, name string, timeout time.Duration) ([]StreamEvent, error) {
	return nil, errNotImplemented
}

// GetNetworkPolicy returns a sprite's egress policy.
func (c *Client) GetNetworkPolicy(ctx context.Context, sprite string) (*NetworkPolicy, error) {
	return nil, errNotImplemented
}

// SetNetworkPolicy replaces a sprite's egress policy (200 or 204).
func (c *Client) SetNetworkPolicy(ctx context.Context, sprite string, p NetworkPolicy) error {
	return errNotImplemented
}

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}
