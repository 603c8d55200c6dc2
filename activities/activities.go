// Package activities carries out session operations against the Sprites API.
// Each activity is a method on Activities; every one is safe to retry.
package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"golang.org/x/time/rate"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Options tune the activities.
type Options struct {
	// HeartbeatInterval is how often a running exec, checkpoint or restore
	// heartbeats (default 5s; more often when the attempt's heartbeat
	// timeout asks for it).
	HeartbeatInterval time.Duration
	// MaxOutputCap bounds any requested output cap (default 512 KiB).
	MaxOutputCap int
	// MaxRunAfterDisconnect is how long a command keeps running after its
	// socket drops (default 60s): long enough for a retry on another worker
	// to re-attach after a crash.
	MaxRunAfterDisconnect time.Duration
	// CreatesPerMinute caps the sprites this worker creates per minute, with
	// bursts of as many (0: no cap). Sprites refuses more than about 10 a
	// minute per organisation; a create over the cap is not sent but fails as
	// RateLimited with the wait as its retry delay, so it holds no activity
	// slot while it waits.
	CreatesPerMinute float64
}

// Activities holds the Sprites client every activity uses.
type Activities struct {
	client  *sprites.Client
	opts    Options
	creates *rate.Limiter // nil: no cap
}

// New returns the activities over client.
func New(client *sprites.Client, opts Options) *Activities {
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 5 * time.Second
	}
	if opts.MaxOutputCap <= 0 {
		opts.MaxOutputCap = 512 << 10
	}
	if opts.MaxRunAfterDisconnect <= 0 {
		opts.MaxRunAfterDisconnect = 60 * time.Second
	}
	a := &Activities{client: client, opts: opts}
	if opts.CreatesPerMinute > 0 {
		a.creates = rate.NewLimiter(rate.Limit(opts.CreatesPerMinute/60), max(1, int(opts.CreatesPerMinute)))
	}
	return a
}

// heartbeatEvery is how often a long call heartbeats: HeartbeatInterval,
// but at least twice per HeartbeatTimeout of the attempt, so that a worker
// configured with a long interval cannot make every long exec, checkpoint
// or restore time out while it is fine.
func (a *Activities) heartbeatEvery(ctx context.Context) time.Duration {
	every := a.opts.HeartbeatInterval
	if timeout := activity.GetInfo(ctx).HeartbeatTimeout; timeout > 0 {
		every = min(every, timeout/2)
	}
	return every
}

// outputCap is the byte cap of one answer: the requested one, bounded by
// MaxOutputCap, which is also the default.
func (a *Activities) outputCap(requested int) int {
	if requested <= 0 || requested > a.opts.MaxOutputCap {
		return a.opts.MaxOutputCap
	}
	return requested
}
