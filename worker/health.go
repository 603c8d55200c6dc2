package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// readyCacheTTL is how long a readiness verdict is reused, so that frequent
// probes do not turn into a stream of Sprites API calls.
const readyCacheTTL = 5 * time.Second

// readyCheckTimeout bounds each dependency check.
const readyCheckTimeout = 5 * time.Second

// dependency is one thing /readyz asks about.
type dependency struct {
	name  string
	check func(context.Context) error
}

// temporalDependency asks the Temporal frontend whether it serves.
func temporalDependency(c client.Client) dependency {
	return dependency{"temporal", func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// spritesDependency makes the cheapest authenticated Sprites call: a list
// of one. A refused token makes the worker unready, as every activity
// would fail.
func spritesDependency(sc *sprites.Client) dependency {
	return dependency{"sprites api", func(ctx context.Context) error {
		_, err := sc.ListSprites(ctx, sprites.ListOptions{MaxResults: 1})
		return err
	}}
}

// readiness answers /readyz: the worker is started (and not stopping) and
// every dependency answers. Dependency verdicts are cached for ttl.
type readiness struct {
	started func() error
	deps    []dependency
	ttl     time.Duration
	now     func() time.Time

	mu        sync.Mutex
	checkedAt time.Time
	verdict   error
}

func (r *readiness) ready(ctx context.Context) error {
	if err := r.started(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.checkedAt.IsZero() && now.Sub(r.checkedAt) < r.ttl {
		return r.verdict
	}
	// The checks outlive a prober that gives up (its timeout may be shorter
	// than theirs): the verdict is cached, so it must describe the
	// dependencies, not a caller that left.
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, d := range r.deps {
		cctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		if err := d.check(cctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.name, err))
		}
		cancel()
	}
	r.verdict, r.checkedAt = errors.Join(errs...), now
	return r.verdict
}

// healthMux serves /metrics, /healthz (the process answers) and /readyz
// (ready to take work).
func healthMux(metrics http.Handler, r *readiness) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := r.ready(req.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
