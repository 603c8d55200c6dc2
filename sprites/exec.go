package sprites

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Keepalive on the exec socket: a ping every execPingInterval; no pong
// within execPingTimeout means the socket is dead (45 s in all, as the
// official clients do). Variables so that tests can shorten them.
var (
	execPingInterval = 15 * time.Second
	execPingTimeout  = 30 * time.Second
)

// maxExecMessage bounds one WebSocket message from the server.
const maxExecMessage = 16 << 20

// stdinChunk is the most stdin sent in one frame: frame and stream byte
// stay below the 32 KiB message limit common WebSocket servers default to.
const stdinChunk = 16 << 10

// Cmd runs a command in a sprite over the exec WebSocket. It is shaped like
// os/exec.Cmd: set the fields, then call Run once.
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
	// Stdin is streamed to the command, then stdin EOF is sent. A nil
	// Stdin sends stdin EOF at once, also on attach: nobody else can feed
	// the session's stdin once its first socket is gone. Run does not wait
	// for a Stdin read that blocks past the exit frame.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output as it arrives; nil
	// discards it. They are written from Run's goroutine only.
	Stdout, Stderr io.Writer
	// MaxRunAfterDisconnect is how long the command survives a dropped
	// socket; zero leaves the server's default (10s for non-TTY).
	MaxRunAfterDisconnect time.Duration
	// SessionID, when non-zero before Run, attaches to that running session
	// instead of starting a command; buffered output is replayed. Run sets
	// it when session_info arrives; read it after Run, or use OnSession.
	SessionID int64
	// OnSession, when non-nil, is called once with the session ID as soon as
	// session_info arrives, from Run's goroutine.
	OnSession func(id int64)

	client   *Client
	exitCode int
	started  bool
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

// ConnectionLostError reports a socket that ended without an exit frame,
// including one ended by the caller's context. The command may still be
// running; SessionID (0 when session_info never arrived) allows a
// re-attach. Err is the cause, e.g. the close error or context.Canceled.
type ConnectionLostError struct {
	SessionID int64
	Err       error
}

func (e *ConnectionLostError) Error() string {
	id := "unknown session"
	if e.SessionID != 0 {
		id = "session " + strconv.FormatInt(e.SessionID, 10)
	}
	return "sprites: exec connection lost before the exit frame (" + id + "): " + errString(e.Err)
}

func (e *ConnectionLostError) Unwrap() error { return e.Err }

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}

// ExitCode is the exit code after Run, or -1.
func (cmd *Cmd) ExitCode() int { return cmd.exitCode }

// Run starts the command (or attaches to SessionID) and waits for the exit
// frame. It returns as soon as the exit frame arrives, without waiting for
// the server to close the socket (the service holds it about 5 s). A
// non-zero exit is an *ExitError; a socket that ends without an exit frame
// is a *ConnectionLostError, never a success.
func (cmd *Cmd) Run(ctx context.Context) error {
	if cmd.client == nil {
		return errors.New("sprites: exec: Cmd was not made by Client.Command or Client.Attach")
	}
	if cmd.started {
		return errors.New("sprites: exec: Run called twice")
	}
	cmd.started = true
	if err := ValidateName(cmd.Sprite); err != nil {
		return err
	}
	attach := cmd.SessionID != 0
	if !attach && len(cmd.Args) == 0 {
		return fmt.Errorf("sprites: exec in %s: no command: %w", cmd.Sprite, ErrInvalid)
	}
	op := "exec in " + cmd.Sprite
	if attach {
		op = fmt.Sprintf("attach to session %d in %s", cmd.SessionID, cmd.Sprite)
	}

	conn, err := cmd.client.dialExec(ctx, op, cmd.execURL(attach))
	if err != nil {
		return err
	}
	// CloseNow, not Close: a close handshake would wait for the server,
	// which holds the socket after the exit frame.
	defer conn.CloseNow()
	conn.SetReadLimit(maxExecMessage)

	runCtx, stop := context.WithCancel(ctx)
	var s execState
	var pinger sync.WaitGroup
	interval, timeout := execPingInterval, execPingTimeout
	pinger.Go(func() { keepalive(runCtx, conn, &s, interval, timeout) })
	// Not waited for: a Stdin read may block past the exit frame, as
	// os/exec's would.
	go cmd.sendStdin(runCtx, conn, &s)
	err = cmd.receive(ctx, conn, &s)
	stop()
	pinger.Wait()
	return err
}

// execURL is the exec endpoint with the command's query, or the attach
// path form /exec/{id} (the legacy ?id= form may start a new empty exec on
// servers that ignore it).
func (cmd *Cmd) execURL(attach bool) *url.URL {
	q := url.Values{}
	if cmd.Stdin != nil {
		q.Set("stdin", "true")
	} else {
		q.Set("stdin", "false")
	}
	if attach {
		return cmd.client.endpoint(spritePath(cmd.Sprite, "exec", strconv.FormatInt(cmd.SessionID, 10)), q)
	}
	path := cmd.Path
	if path == "" {
		path = cmd.Args[0]
	}
	q.Set("path", path)
	for _, a := range cmd.Args {
		q.Add("cmd", a)
	}
	for _, e := range cmd.Env {
		q.Add("env", e)
	}
	if cmd.Dir != "" {
		q.Set("dir", cmd.Dir)
	}
	if cmd.MaxRunAfterDisconnect > 0 {
		q.Set("max_run_after_disconnect", cmd.MaxRunAfterDisconnect.String())
	}
	return cmd.client.endpoint(spritePath(cmd.Sprite, "exec"), q)
}

// dialExec opens the exec socket. A refused upgrade is decoded like any
// other error answer.
func (c *Client) dialExec(ctx context.Context, op string, u *url.URL) (*websocket.Conn, error) {
	if c.err != nil {
		return nil, c.err
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.token)
	h.Set("User-Agent", c.userAgent)
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: c.streamClient(),
		HTTPHeader: h,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, c.redact(DecodeError(op, resp))
		}
		return nil, fmt.Errorf("sprites: %s: %w", op, err)
	}
	return conn, nil
}

// execState is what the stdin and keepalive goroutines report to Run.
type execState struct {
	mu       sync.Mutex
	lostErr  error // why the socket was given up, when we gave it up
	stdinErr error
}

func (s *execState) setLost(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostErr == nil {
		s.lostErr = err
	}
}

func (s *execState) lost() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lostErr
}

func (s *execState) setStdinErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stdinErr = err
}

func (s *execState) stdin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdinErr
}

// keepalive pings the server and gives the socket up when no pong comes
// back: a half-open TCP connection would otherwise hang Run forever.
func keepalive(ctx context.Context, conn *websocket.Conn, s *execState, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.setLost(fmt.Errorf("keepalive: no pong within %s: %w", timeout, err))
			conn.CloseNow()
			return
		}
	}
}

// sendStdin streams Stdin as stdin frames, then stdin EOF. A read error of
// Stdin still ends with EOF so the command does not wait forever; Run
// reports the error.
func (cmd *Cmd) sendStdin(ctx context.Context, conn *websocket.Conn, s *execState) {
	if cmd.Stdin != nil {
		buf := make([]byte, stdinChunk)
		for {
			n, err := cmd.Stdin.Read(buf)
			if n > 0 {
				if werr := conn.Write(ctx, websocket.MessageBinary, EncodeFrame(StreamStdin, buf[:n])); werr != nil {
					return // the receive loop sees the broken socket
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				s.setStdinErr(fmt.Errorf("sprites: exec: reading stdin: %w", err))
				break
			}
		}
	}
	_ = conn.Write(ctx, websocket.MessageBinary, []byte{StreamStdinEOF})
}

// receive reads the socket until the exit frame (binary 0x03 or a JSON
// exit message).
func (cmd *Cmd) receive(ctx context.Context, conn *websocket.Conn, s *execState) error {
	stdout, stderr := cmd.Stdout, cmd.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	announced := false
	tty := false
	for {
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			if cause := s.lost(); cause != nil {
				err = cause
			} else if ctx.Err() != nil {
				err = ctx.Err()
			}
			return &ConnectionLostError{SessionID: cmd.SessionID, Err: err}
		}
		if typ == websocket.MessageText {
			m, err := DecodeControl(msg)
			if err != nil {
				continue // a text message we cannot read carries no output
			}
			switch m.Type {
			case "session_info":
				tty = m.TTY
				if m.SessionID != 0 {
					cmd.SessionID = m.SessionID
				}
				if !announced && cmd.OnSession != nil && cmd.SessionID != 0 {
					announced = true
					cmd.OnSession(cmd.SessionID)
				}
			case "exit":
				code := 0
				if m.ExitCode != nil {
					code = *m.ExitCode
				}
				return cmd.finish(code, s)
			}
			continue
		}
		// An attached TTY session sends raw terminal bytes, unframed.
		if tty {
			if _, err := stdout.Write(msg); err != nil {
				return fmt.Errorf("sprites: exec: writing stdout: %w", err)
			}
			continue
		}
		stream, payload, err := DecodeFrame(msg)
		if err != nil {
			continue // empty messages are ignored by every peer
		}
		switch stream {
		case StreamStdout:
			if _, err := stdout.Write(payload); err != nil {
				return fmt.Errorf("sprites: exec: writing stdout: %w", err)
			}
		case StreamStderr:
			if _, err := stderr.Write(payload); err != nil {
				return fmt.Errorf("sprites: exec: writing stderr: %w", err)
			}
		case StreamExit:
			return cmd.finish(ExitCodeOf(payload), s)
		}
		// Unknown stream bytes belong to removed protocol features.
	}
}

func (cmd *Cmd) finish(code int, s *execState) error {
	cmd.exitCode = code
	if code != 0 {
		return &ExitError{Code: code}
	}
	return s.stdin()
}
