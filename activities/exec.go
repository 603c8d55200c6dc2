package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// ExecInput runs argv in the sprite.
type ExecInput struct {
	ProviderName string            `json:"provider_name"`
	Argv         []string          `json:"argv"`
	Env          map[string]string `json:"env,omitempty"`
	Dir          string            `json:"dir,omitempty"`
	Stdin        string            `json:"stdin,omitempty"`
	Timeout      time.Duration     `json:"timeout"`
	// OutputCap bounds each of stdout and stderr in the answer, as
	// encoded in its JSON payload.
	OutputCap int `json:"output_cap"`
	// AttachSessionID, when non-zero, attaches to that running session
	// instead of starting Argv: a quick first attempt (e.g. a local
	// activity) can hand a still-running command over to a heartbeating
	// activity this way.
	AttachSessionID int64 `json:"attach_session_id,omitempty"`
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

// ExecHeartbeat is the heartbeat detail of a running Exec. A retry that
// finds it re-attaches to SessionID instead of starting the command again.
type ExecHeartbeat struct {
	SessionID int64     `json:"session_id"`
	StartedAt time.Time `json:"started_at,omitzero"`
}

const (
	// maxReattach bounds the re-attaches within one attempt after the
	// socket drops; after that the attempt fails retryably and the next
	// attempt attaches from the heartbeat details.
	maxReattach = 3
	// reattachBackoff is the first pause before a re-attach; it doubles.
	reattachBackoff = 250 * time.Millisecond
	// killTimeout bounds the kill call.
	killTimeout = 10 * time.Second
	// exitGrace is how long a killed command's exit frame is awaited.
	exitGrace = 5 * time.Second
)

// Exec runs a command over the exec WebSocket, heartbeating with the remote
// session ID so that a retry re-attaches instead of running it twice.
//
// A non-zero exit is an answer, not an error. At in.Timeout the session is
// killed and the answer has TimedOut set. A command whose outcome cannot be
// known (the socket dropped before the session was named, or the session is
// gone when re-attaching) is a non-retryable ExecLost: it is never re-run.
// When the workflow cancels the activity, the remote session is killed; a
// worker that stops leaves it running, for the retry to re-attach.
//
// A worker that begins stopping while the session is known hands the
// command over at once: the attempt records the session in a heartbeat and
// fails with a retryable WorkerStopping, so that the server retries it now
// rather than after the heartbeat timeout. Until the session is named the
// attempt keeps waiting: a retry that knows no session would start the
// command a second time.
func (a *Activities) Exec(ctx context.Context, in ExecInput) (ExecOutput, error) {
	limit := a.outputCap(in.OutputCap)
	r := &execRun{
		a:       a,
		in:      in,
		op:      "exec in " + in.ProviderName,
		stdout:  newCappedWriter(limit),
		stderr:  newCappedWriter(limit),
		started: time.Now(),
		session: in.AttachSessionID,
	}
	if activity.HasHeartbeatDetails(ctx) {
		var hb ExecHeartbeat
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil && hb.SessionID != 0 {
			r.session = hb.SessionID
			if !hb.StartedAt.IsZero() {
				r.started = hb.StartedAt
			}
		}
	}
	if r.session == 0 {
		if len(in.Argv) == 0 {
			return ExecOutput{}, invalid("%s: empty argv", r.op)
		}
		if _, err := envList(in.Env); err != nil {
			return ExecOutput{}, invalid("%s: %v", r.op, err)
		}
	}
	return r.run(ctx)
}

// execRun is one attempt of Exec: a start or an attach, and the
// re-attaches that follow a dropped socket.
type execRun struct {
	a              *Activities
	in             ExecInput
	op             string
	stdout, stderr *cappedWriter
	started        time.Time
	// session is the remote session ID, 0 until session_info names it.
	session int64
}

// running is one Cmd.Run in flight.
type running struct {
	cmd *sprites.Cmd
	// attach is set when this Run attaches to a known session.
	attach   bool
	done     chan error
	cancel   context.CancelFunc
	err      error
	finished bool
}

// wait returns Run's result, waiting for it once.
func (p *running) wait() error {
	if !p.finished {
		p.err, p.finished = <-p.done, true
	}
	return p.err
}

// stop cancels Run and waits for it, so that nothing writes the output
// buffers afterwards.
func (p *running) stop() {
	p.cancel()
	p.wait()
}

func (r *execRun) run(ctx context.Context) (ExecOutput, error) {
	var deadline <-chan time.Time
	if r.in.Timeout > 0 {
		t := time.NewTimer(max(r.in.Timeout-time.Since(r.started), 0))
		defer t.Stop()
		deadline = t.C
	}
	ticker := time.NewTicker(r.a.heartbeatEvery(ctx))
	defer ticker.Stop()
	// Until session_info names the session the attempt keeps quiet: the SDK
	// holds back a heartbeat that follows another closely, and the one that
	// carries the session ID must go out at once. A start slower than a
	// quarter of the heartbeat timeout beats anyway, or the attempt would
	// time out and its retry start the command a second time.
	var slowStart <-chan time.Time
	if timeout := activity.GetInfo(ctx).HeartbeatTimeout; timeout > 0 {
		t := time.NewTimer(timeout / 4)
		defer t.Stop()
		slowStart = t.C
	}
	slow := false
	// stop closes when the worker begins stopping; the SDK cancels ctx only
	// once the worker's stop timeout has passed, too late for a quick retry.
	stop := activity.GetWorkerStopChannel(ctx)
	stopping := false

	for attempt := 0; ; attempt++ {
		select {
		case <-stop:
			stop, stopping = nil, true
		default:
		}
		if stopping && r.session != 0 {
			return r.handOver(ctx, nil)
		}
		if attempt > 0 {
			// A dropped socket: pause, then re-attach to the session.
			pause := time.NewTimer(reattachBackoff << (attempt - 1))
			select {
			case <-pause.C:
			case <-deadline:
				pause.Stop()
				return r.timedOut(ctx, nil)
			case <-ctx.Done():
				pause.Stop()
				return r.cancelled(ctx, nil)
			case <-stop:
				// A re-attach pause: the session is known.
				pause.Stop()
				return r.handOver(ctx, nil)
			}
		}
		if r.session != 0 {
			// Whatever this attempt knows, a retry must know too.
			r.beat(ctx)
		}
		p, sessions := r.start(ctx)
	wait:
		for {
			select {
			case id := <-sessions:
				r.named(ctx, id)
				if stopping && r.session != 0 {
					return r.handOver(ctx, p)
				}
			case <-stop:
				stop, stopping = nil, true
				if r.session != 0 {
					return r.handOver(ctx, p)
				}
			case <-slowStart:
				slow = true
			case <-ticker.C:
				if r.session != 0 || slow {
					r.beat(ctx)
				}
			case <-deadline:
				return r.timedOut(ctx, p)
			case <-ctx.Done():
				return r.cancelled(ctx, p)
			case err := <-p.done:
				p.err, p.finished = err, true
				break wait
			}
		}
		select {
		case id := <-sessions:
			r.named(ctx, id)
		default:
		}
		if ctx.Err() != nil && !exited(p.err) {
			return r.cancelled(ctx, p)
		}
		out, again, err := r.outcome(p, attempt)
		if !again {
			return out, err
		}
	}
}

// start launches one Run: the command, or an attach once the session is
// known. sessions receives the session ID when session_info arrives.
func (r *execRun) start(ctx context.Context) (*running, <-chan int64) {
	var cmd *sprites.Cmd
	if r.session != 0 {
		cmd = r.a.client.Attach(r.in.ProviderName, r.session)
		// An attach replays the session's kept output from its start
		// (localsprites does; the service documents a replay of "buffered
		// output"), so what an earlier socket delivered would be doubled.
		r.stdout.Reset()
		r.stderr.Reset()
	} else {
		cmd = r.a.client.Command(r.in.ProviderName, withEnv(r.in.Env, r.in.Argv)...)
		cmd.Dir = r.in.Dir
		if r.in.Stdin != "" {
			cmd.Stdin = strings.NewReader(r.in.Stdin)
		}
		cmd.MaxRunAfterDisconnect = r.a.opts.MaxRunAfterDisconnect
	}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	sessions := make(chan int64, 1)
	cmd.OnSession = func(id int64) {
		select {
		case sessions <- id:
		default:
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	p := &running{cmd: cmd, attach: r.session != 0, done: make(chan error, 1), cancel: cancel}
	go func() { p.done <- cmd.Run(runCtx) }()
	return p, sessions
}

// named records the session ID and heartbeats it at once: from now on a
// retry attaches instead of starting.
func (r *execRun) named(ctx context.Context, id int64) {
	if id == 0 || id == r.session {
		return
	}
	r.session = id
	r.beat(ctx)
}

func (r *execRun) beat(ctx context.Context) {
	activity.RecordHeartbeat(ctx, ExecHeartbeat{SessionID: r.session, StartedAt: r.started})
}

// outcome turns Run's result into the answer, or asks for a re-attach.
func (r *execRun) outcome(p *running, attempt int) (out ExecOutput, again bool, err error) {
	p.cancel()
	runErr := p.wait()
	var exitErr *sprites.ExitError
	var lost *sprites.ConnectionLostError
	switch {
	case runErr == nil:
		return r.output(p.cmd.ExitCode()), false, nil
	case errors.As(runErr, &exitErr):
		return r.output(exitErr.Code), false, nil
	case errors.As(runErr, &lost):
		if r.session == 0 && lost.SessionID != 0 {
			r.session = lost.SessionID
		}
		if r.session == 0 {
			return ExecOutput{}, false, nonRetryable(ErrTypeExecLost,
				"%s: the socket dropped before the session started (%v); the command may have run and is not run again", r.op, runErr)
		}
	case p.attach && sprites.IsNotFound(runErr):
		return ExecOutput{}, false, nonRetryable(ErrTypeExecLost,
			"%s: session %d is gone (%v); the command's outcome is unknown and it is not run again", r.op, r.session, runErr)
	case p.attach && sprites.IsRetryable(runErr):
		// The attach itself failed on the way; the session may be fine.
	default:
		// The start was refused (no session exists, nothing ran), or the
		// attach failed for good (e.g. 401).
		return ExecOutput{}, false, Classify(r.op, runErr)
	}
	if attempt+1 >= maxReattach {
		// The heartbeat carries the session: the next attempt attaches.
		return ExecOutput{}, false, retryable(ErrTypeUnavailable,
			"%s: lost session %d %d times (%v); the next attempt re-attaches", r.op, r.session, maxReattach, runErr)
	}
	return ExecOutput{}, true, nil
}

// timedOut kills the session at the command's timeout and answers with
// TimedOut set and the exit code of the killed command (-1 when its exit
// frame did not arrive).
func (r *execRun) timedOut(ctx context.Context, p *running) (ExecOutput, error) {
	code := -1
	if r.session != 0 {
		r.kill(ctx, "timeout")
		if p != nil && !p.finished {
			grace := time.NewTimer(exitGrace)
			select {
			case <-p.done:
				p.finished = true
			case <-grace.C:
			}
			grace.Stop()
		}
	}
	if p != nil {
		p.stop()
		if exited(p.err) {
			code = p.cmd.ExitCode()
		}
	}
	out := r.output(code)
	out.TimedOut = true
	return out, nil
}

// handOver ends the attempt of a stopping worker without killing the
// command: the heartbeat names the session (the SDK sends a held-back
// heartbeat when an attempt fails, before the failure), and the retryable
// failure makes the server retry now, on a worker that re-attaches. A
// command whose exit frame has already arrived is answered instead.
func (r *execRun) handOver(ctx context.Context, p *running) (ExecOutput, error) {
	if p != nil && !p.finished {
		select {
		case err := <-p.done:
			p.err, p.finished = err, true
		default:
		}
	}
	if p != nil && p.finished && exited(p.err) {
		out, _, err := r.outcome(p, 0)
		return out, err
	}
	r.beat(ctx)
	if p != nil {
		p.stop()
	}
	return ExecOutput{}, retryable(ErrTypeWorkerStopping,
		"%s: the worker is stopping; session %d keeps running and the next attempt re-attaches", r.op, r.session)
}

// cancelled ends the attempt on a done context. Only a cancellation the
// workflow asked for kills the remote command: a stopping worker, a
// StartToClose timeout or a pause leave it running for the retry to
// re-attach.
func (r *execRun) cancelled(ctx context.Context, p *running) (ExecOutput, error) {
	if r.session != 0 && temporal.IsCanceledError(context.Cause(ctx)) {
		r.kill(context.WithoutCancel(ctx), "cancelled by the workflow")
	}
	if p != nil {
		p.stop()
	}
	return ExecOutput{}, ctx.Err()
}

func (r *execRun) kill(ctx context.Context, why string) {
	kctx, cancel := context.WithTimeout(ctx, killTimeout)
	defer cancel()
	if err := r.a.client.KillSession(kctx, r.in.ProviderName, r.session, "SIGKILL", 0); err != nil {
		activity.GetLogger(ctx).Warn("killing the exec session failed",
			"sprite", r.in.ProviderName, "session", r.session, "reason", why, "error", err)
	}
}

func (r *execRun) output(code int) ExecOutput {
	out := ExecOutput{
		ExitCode:   code,
		DurationMS: time.Since(r.started).Milliseconds(),
		SessionID:  r.session,
	}
	out.Stdout, out.StdoutTruncated = r.stdout.Text()
	out.Stderr, out.StderrTruncated = r.stderr.Text()
	return out
}

// exited reports whether Run's result says the exit frame arrived.
func exited(runErr error) bool {
	var exitErr *sprites.ExitError
	return runErr == nil || errors.As(runErr, &exitErr)
}

// envList renders env as KEY=VALUE, sorted by key so that the request is
// the same on every attempt.
func envList(env map[string]string) ([]string, error) {
	if env == nil {
		return nil, nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("bad environment variable name %q", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	list := make([]string, 0, len(keys))
	for _, k := range keys {
		list = append(list, k+"="+env[k])
	}
	return list, nil
}

// withEnv prefixes argv with `env -- K=V ...` so that the variables add to
// the sprite's default environment. The API's own env parameter replaces the
// whole environment (PATH and HOME included), which no caller of Exec wants.
func withEnv(env map[string]string, argv []string) []string {
	list, _ := envList(env)
	if len(list) == 0 {
		return argv
	}
	out := make([]string, 0, 2+len(list)+len(argv))
	out = append(out, "env", "--")
	out = append(out, list...)
	return append(out, argv...)
}
