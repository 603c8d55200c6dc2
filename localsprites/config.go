package localsprites

import (
	"errors"
	"io"
	"log/slog"
	"time"
)

// Config configures a Server. The zero value of every field but StateDir
// and Token has a working default.
type Config struct {
	// StateDir holds every sprite's files, checkpoints and metadata. It is
	// created when missing and read back at start, so sprites survive a
	// restart (they come back cold).
	StateDir string
	// Token is the bearer token every request must carry.
	Token string
	// PublicURL, when set, is the base of the sprite URLs the API reports
	// (e.g. "http://127.0.0.1:8787"). Empty means: derived from the Host of
	// each request.
	PublicURL string
	// Sandbox chooses how processes run: SandboxAuto (default) uses
	// bubblewrap when it is installed, SandboxBwrap requires it, SandboxPlain
	// never uses it.
	Sandbox SandboxMode
	// Idle sets the running -> warm -> cold timings.
	Idle Idle
	// Quirks reproduce behaviours of the real service that differ from its
	// documentation.
	Quirks Quirks
	// Faults are injected failures; see Fault.
	Faults []Fault
	// FaultSeed seeds the fault dice, so a run is reproducible.
	FaultSeed uint64
	// MaxWriteBytes caps one fs/write body (default 256 MiB); a larger body
	// answers 413.
	MaxWriteBytes int64
	// SessionBufferBytes is how much output each exec session keeps for
	// re-attach (default 1 MiB); output is dropped oldest first, and only
	// once every attached client has sent it.
	SessionBufferBytes int
	// FinishedSessionTTL is how long an exited session stays attachable, so a
	// client whose socket dropped can still learn the exit code (default 5m:
	// well past a worker's exec heartbeat timeout and first retry, so a
	// worker that dies as its command finishes does not lose the result).
	FinishedSessionTTL time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// SandboxMode says how a sprite's processes are isolated.
type SandboxMode string

// Sandbox modes.
const (
	SandboxAuto  SandboxMode = ""
	SandboxBwrap SandboxMode = "bwrap"
	SandboxPlain SandboxMode = "plain"
)

// Idle holds the status timings. Zero means the default; a negative value
// disables that transition.
type Idle struct {
	// WarmAfter is how long a sprite stays running after its last activity
	// (default 30s).
	WarmAfter time.Duration
	// ColdAfter is how long a sprite stays warm before it goes cold and its
	// processes are stopped (default 5m).
	ColdAfter time.Duration
}

// Quirks reproduce observed behaviours of the real service.
type Quirks struct {
	// MissingSprite500 answers GET and DELETE of a missing sprite with 500
	// "failed to retrieve sprite" / "failed to delete sprite", as the real
	// service did in recordings, instead of the documented 404.
	MissingSprite500 bool
	// ExecHoldAfterExit keeps an exec socket open this long after the exit
	// frame (the real service holds it about 5s); clients must not wait for
	// the close.
	ExecHoldAfterExit time.Duration
	// PolicyPostNoContent answers POST policy/network with 204 instead of
	// 200 with the policy echoed.
	PolicyPostNoContent bool
}

const (
	defaultWarmAfter          = 30 * time.Second
	defaultColdAfter          = 5 * time.Minute
	defaultMaxWriteBytes      = 256 << 20
	defaultSessionBufferBytes = 1 << 20
	defaultFinishedSessionTTL = 5 * time.Minute
	// defaultMaxRunAfterDisconnect is how long a non-TTY command survives
	// its client's socket, as on the real service.
	defaultMaxRunAfterDisconnect = 10 * time.Second
)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.StateDir == "" {
		return out, errors.New("localsprites: Config.StateDir is required")
	}
	if out.Token == "" {
		return out, errors.New("localsprites: Config.Token is required")
	}
	switch out.Sandbox {
	case SandboxAuto, SandboxBwrap, SandboxPlain:
	default:
		return out, errors.New("localsprites: Config.Sandbox must be \"\", \"bwrap\" or \"plain\"")
	}
	if out.Idle.WarmAfter == 0 {
		out.Idle.WarmAfter = defaultWarmAfter
	}
	if out.Idle.ColdAfter == 0 {
		out.Idle.ColdAfter = defaultColdAfter
	}
	if out.MaxWriteBytes <= 0 {
		out.MaxWriteBytes = defaultMaxWriteBytes
	}
	if out.SessionBufferBytes <= 0 {
		out.SessionBufferBytes = defaultSessionBufferBytes
	}
	if out.FinishedSessionTTL <= 0 {
		out.FinishedSessionTTL = defaultFinishedSessionTTL
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	out.Faults = append([]Fault(nil), c.Faults...)
	for i := range out.Faults {
		if err := out.Faults[i].validate(); err != nil {
			return out, err
		}
	}
	return out, nil
}
