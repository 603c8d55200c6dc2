package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Worker is a running (or ready to run) sprite-sessions worker: the
// Temporal worker, the reaper's schedule and the HTTP endpoints.
type Worker struct {
	cfg    Config
	logger *slog.Logger

	metrics      *Metrics
	temporal     client.Client
	ownsTemporal bool
	sprites      *sprites.Client
	worker       sdkworker.Worker
	ready        *readiness
	handler      http.Handler

	state atomic.Int32 // stateNew, stateStarted, stateStopping
	// startDone: Start returned without error (polling, and the reaper's
	// schedule ensured): readiness waits for it.
	startDone atomic.Bool
	listener  net.Listener
	server    *http.Server
	fatal     chan error
	stopOnce  sync.Once
}

const (
	stateNew int32 = iota
	stateStarted
	stateStopping
)

// Option changes how New builds the worker.
type Option func(*options)

type options struct {
	temporal client.Client
	sprites  *sprites.Client
	metrics  *Metrics
}

// WithTemporalClient uses c instead of dialling Temporal; the worker does
// not close it. c must be connected to cfg.Temporal.Namespace. Its metrics
// reach /metrics only if it was dialled with the Handler of the Metrics
// given by WithMetrics.
func WithTemporalClient(c client.Client) Option {
	return func(o *options) { o.temporal = c }
}

// WithSpritesClient uses c instead of building a client from
// SPRITES_API_URL and SPRITES_TOKEN. API metrics are recorded only if c's
// HTTP client uses InstrumentTransport.
func WithSpritesClient(c *sprites.Client) Option {
	return func(o *options) { o.sprites = c }
}

// WithMetrics uses m for /metrics and for the clients the worker builds.
func WithMetrics(m *Metrics) Option {
	return func(o *options) { o.metrics = m }
}

// New connects to Temporal (unless given a client), builds the Sprites
// client and the Temporal worker and registers the workflows and
// activities. It starts nothing: call Start.
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts ...Option) (*Worker, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.Default()
	}
	w := &Worker{cfg: cfg, logger: logger, metrics: o.metrics, fatal: make(chan error, 1)}
	if w.metrics == nil {
		w.metrics = NewMetrics()
	}

	if o.temporal != nil {
		w.temporal = o.temporal
	} else {
		copts, err := cfg.Temporal.ClientOptions()
		if err != nil {
			return nil, fmt.Errorf("temporal connection settings: %w", err)
		}
		copts.Logger = log.NewStructuredLogger(logger)
		copts.MetricsHandler = w.metrics.Handler()
		c, err := client.DialContext(ctx, copts)
		if err != nil {
			return nil, fmt.Errorf("connecting to temporal at %s: %w", cfg.Temporal.Address, err)
		}
		w.temporal, w.ownsTemporal = c, true
		logger.Info("connected to temporal", "address", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace)
	}

	w.sprites = o.sprites
	if w.sprites == nil {
		hc := &http.Client{Transport: InstrumentTransport(http.DefaultTransport, w.metrics.Handler())}
		w.sprites = sprites.New(cfg.SpritesToken.Value(),
			sprites.WithBaseURL(cfg.SpritesAPIURL),
			sprites.WithHTTPClient(hc),
			sprites.WithUserAgent("sprite-sessions-worker"))
	}

	w.worker = sdkworker.New(w.temporal, cfg.TaskQueue, cfg.workerOptions(w.fail))
	acts := activities.New(w.sprites, activities.Options{
		HeartbeatInterval: cfg.HeartbeatInterval,
		MaxOutputCap:      cfg.MaxOutputCap,
		CreatesPerMinute:  cfg.CreatesPerMinute,
	})
	Register(w.worker, acts, reaper.NewActivities(w.sprites, w.temporal, cfg.Temporal.Namespace), cfg.SessionDefaults())

	w.ready = &readiness{
		started: w.startedErr,
		deps:    []dependency{temporalDependency(w.temporal), spritesDependency(w.sprites)},
		ttl:     readyCacheTTL,
		now:     time.Now,
	}
	w.handler = healthMux(w.metrics.HTTPHandler(), w.ready)
	return w, nil
}

// Handler serves /metrics, /healthz and /readyz; Start also serves it on
// MetricsAddress.
func (w *Worker) Handler() http.Handler { return w.handler }

// Metrics returns the worker's metrics.
func (w *Worker) Metrics() *Metrics { return w.metrics }

// MetricsAddr is the address the HTTP endpoints listen on after Start, or
// "" when disabled.
func (w *Worker) MetricsAddr() string {
	if w.listener == nil {
		return ""
	}
	return w.listener.Addr().String()
}

// Start serves the HTTP endpoints, starts polling and, when the reaper is
// enabled, creates or updates its schedule.
func (w *Worker) Start(ctx context.Context) error {
	if !w.state.CompareAndSwap(stateNew, stateStarted) {
		return errors.New("worker: Start called twice")
	}
	if w.cfg.MetricsAddress != "" {
		ln, err := net.Listen("tcp", w.cfg.MetricsAddress)
		if err != nil {
			w.state.Store(stateStopping)
			w.closeClient()
			return fmt.Errorf("listening on SPRITE_SESSIONS_METRICS_ADDRESS %s: %w", w.cfg.MetricsAddress, err)
		}
		w.listener = ln
		w.server = &http.Server{Handler: w.handler, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := w.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				w.fail(fmt.Errorf("metrics server: %w", err))
			}
		}()
		w.logger.Info("serving metrics and health", "address", ln.Addr().String())
	}
	if err := w.worker.Start(); err != nil {
		w.state.Store(stateStopping)
		w.shutdownHTTP()
		w.closeClient()
		return fmt.Errorf("starting worker on task queue %s: %w", w.cfg.TaskQueue, err)
	}
	w.logger.Info("worker started", "task_queue", w.cfg.TaskQueue, "namespace", w.cfg.Temporal.Namespace,
		"max_concurrent_activities", w.cfg.MaxConcurrentActivities, "activities_per_second", w.cfg.ActivitiesPerSecond)
	if !w.cfg.ReaperEnabled {
		w.logger.Info("reaper schedule not managed by this worker", "reason", "SPRITE_SESSIONS_REAPER_ENABLED=false")
		w.startDone.Store(true)
		return nil
	}
	sc := reaper.ScheduleConfig{
		ID: w.cfg.ReaperScheduleID, Interval: w.cfg.ReaperInterval, TaskQueue: w.cfg.TaskQueue,
		Grace: w.cfg.ReaperGrace, DryRun: w.cfg.ReaperDryRun,
	}
	if err := reaper.EnsureSchedule(ctx, w.temporal, sc); err != nil {
		w.Stop()
		return err
	}
	w.logger.Info("reaper schedule ensured", "schedule_id", w.cfg.ReaperScheduleID, "interval", w.cfg.ReaperInterval.String(),
		"grace", w.cfg.ReaperGrace.String(), "dry_run", w.cfg.ReaperDryRun)
	w.startDone.Store(true)
	return nil
}

// Wait blocks until ctx is done (nil) or the worker fails (the error).
func (w *Worker) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-w.fatal:
		return err
	}
}

// Stop stops polling, gives running activities WorkerStopTimeout to finish,
// then stops the HTTP endpoints and closes the Temporal client it dialled.
// It is safe to call more than once.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() {
		wasStarted := w.state.Swap(stateStopping) == stateStarted
		if wasStarted {
			w.logger.Info("worker stopping", "stop_timeout", w.cfg.WorkerStopTimeout.String())
			start := time.Now()
			w.worker.Stop()
			w.logger.Info("worker stopped", "took", time.Since(start).Round(time.Millisecond).String())
		}
		w.shutdownHTTP()
		w.closeClient()
	})
}

func (w *Worker) shutdownHTTP() {
	if w.server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.server.Shutdown(ctx); err != nil {
		w.logger.Warn("metrics server did not shut down cleanly", "error", err)
	}
}

func (w *Worker) closeClient() {
	if w.ownsTemporal {
		w.temporal.Close()
		w.ownsTemporal = false
	}
}

func (w *Worker) startedErr() error {
	if err := stateErr(w.state.Load()); err != nil {
		return err
	}
	if !w.startDone.Load() {
		return errors.New("worker still starting")
	}
	return nil
}

// stateErr says why a worker in state s is not ready, or nil.
func stateErr(s int32) error {
	switch s {
	case stateStarted:
		return nil
	case stateStopping:
		return errors.New("worker is stopping")
	}
	return errors.New("worker not started")
}

// fail records the first fatal error for Wait.
func (w *Worker) fail(err error) {
	w.logger.Error("worker failed", "error", err)
	select {
	case w.fatal <- err:
	default:
	}
}

// Run runs a worker until ctx is done, then stops it gracefully and returns
// nil; it returns an error when the worker cannot start or fails.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	logger.Info("worker starting", "config", cfg)
	w, err := New(ctx, cfg, logger)
	if err != nil {
		return startError(ctx, logger, err)
	}
	if err := w.Start(ctx); err != nil {
		return startError(ctx, logger, err)
	}
	err = w.Wait(ctx)
	if err == nil {
		logger.Info("shutdown requested")
	}
	w.Stop()
	return err
}

// startError is Run's verdict on a failed start-up: a SIGTERM that arrives
// while the worker dials Temporal or ensures the reaper's schedule cancels
// that call, and is a graceful stop (exit 0), not a failure.
func startError(ctx context.Context, logger *slog.Logger, err error) error {
	if ctx.Err() != nil {
		logger.Info("shutdown requested during start-up", "interrupted", err.Error())
		return nil
	}
	return err
}
