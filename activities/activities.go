// Package activities carries out session operations against the Sprites API.
// Each activity is a method on Activities; every one is safe to retry.
package activities

import (
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Options tune the activities.
type Options struct {
	// HeartbeatInterval is how often a running exec heartbeats (default 5s).
	HeartbeatInterval time.Duration
	// MaxOutputCap bounds any requested output cap (default 512 KiB).
	MaxOutputCap int
	// MaxRunAfterDisconnect is how long a command keeps running after its
	// socket drops (default 60s): long enough for a retry on another worker
	// to re-attach after a crash.
	MaxRunAfterDisconnect time.Duration
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
	if opts.MaxRunAfterDisconnect <= 0 {
		opts.MaxRunAfterDisconnect = 60 * time.Second
	}
	return &Activities{client: client, opts: opts}
}

// outputCap is the byte cap of one answer: the requested one, bounded by
// MaxOutputCap, which is also the default.
func (a *Activities) outputCap(requested int) int {
	if requested <= 0 || requested > a.opts.MaxOutputCap {
		return a.opts.MaxOutputCap
	}
	return requested
}
