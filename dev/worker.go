package main

import (
	"context"
	"fmt"

	"github.com/sethvargo/go-envconfig"

	"github.com/sprite-sessions/sprite-sessions/worker"
)

// devWorker is the worker, running in process.
type devWorker struct {
	w         *worker.Worker
	taskQueue string
	note      string // banner text on the reaper
	done      chan error
	cancel    context.CancelFunc
}

// workerConfig loads the worker's configuration as the worker process
// would, from the environment, with the stack's own addresses on top: the
// user can still tune the worker (SPRITE_SESSIONS_*) but not point it away
// from the stack.
func workerConfig(ctx context.Context, s *stack) (worker.Config, error) {
	overrides := map[string]string{
		"TEMPORAL_ADDRESS":                s.cfg.frontend(),
		"TEMPORAL_NAMESPACE":              s.cfg.Namespace,
		"SPRITES_API_URL":                 s.spritesURL,
		"SPRITES_TOKEN":                   s.cfg.SpritesToken,
		"SPRITE_SESSIONS_METRICS_ADDRESS": hostPort(loopback, s.cfg.MetricsPort),
	}
	return worker.LoadConfig(ctx, envconfig.MultiLookuper(envconfig.MapLookuper(overrides), envconfig.OsLookuper()))
}

// startWorker runs the worker on the stack's Temporal client (dialled with
// the worker's metrics handler, so SDK metrics reach /metrics) and Sprites
// API.
func startWorker(ctx context.Context, s *stack) (*devWorker, error) {
	cfg, err := workerConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	w, err := worker.New(ctx, cfg, s.log.With("component", "worker"),
		worker.WithTemporalClient(s.client), worker.WithMetrics(s.metrics))
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	dw := &devWorker{w: w, taskQueue: cfg.TaskQueue, done: make(chan error, 1), cancel: cancel}
	switch {
	case !cfg.ReaperEnabled:
		dw.note = ", reaper off"
	default:
		dw.note = fmt.Sprintf(", reaper every %s", cfg.ReaperInterval)
	}
	go func() { dw.done <- w.Wait(runCtx) }()
	return dw, nil
}

// stop stops polling (running activities get the worker's stop timeout)
// and the metrics endpoint.
func (dw *devWorker) stop() {
	dw.cancel()
	dw.w.Stop()
}
