package harness

import (
	"log/slog"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Option changes what New builds.
type Option func(*config)

type config struct {
	local         localsprites.Config
	dynamic       map[string]any
	noWorker      bool
	workerOptions sdkworker.Options
	activities    activities.Options
	session       workflows.SessionConfig
	logLevel      slog.Level
}

func defaultConfig() config {
	return config{
		dynamic: map[string]any{},
		workerOptions: sdkworker.Options{
			// Fail fast: a panic or a non-determinism error ends the test's
			// workflow instead of leaving it blocked until the test times out.
			WorkflowPanicPolicy: sdkworker.FailWorkflow,
			// Two shared cores and parallel tests: the default of 1s can
			// fire on a starved but healthy workflow task.
			DeadlockDetectionTimeout: 10 * time.Second,
		},
		activities: activities.Options{HeartbeatInterval: time.Second},
		logLevel:   slog.LevelWarn,
	}
}

// WithSandbox sets how localsprites runs processes (default: bubblewrap when
// installed, else plain processes). SandboxBwrap fails New when bubblewrap
// is missing; check BwrapAvailable first.
func WithSandbox(mode localsprites.SandboxMode) Option {
	return func(c *config) { c.local.Sandbox = mode }
}

// WithQuirks turns on localsprites' reproductions of the real service's
// undocumented behaviours.
func WithQuirks(q localsprites.Quirks) Option {
	return func(c *config) { c.local.Quirks = q }
}

// WithFaults makes localsprites inject faults from the start, with a fixed
// seed so a run is reproducible. Env.Local.SetFaults changes them later.
func WithFaults(seed uint64, faults ...localsprites.Fault) Option {
	return func(c *config) {
		c.local.FaultSeed = seed
		c.local.Faults = append(c.local.Faults, faults...)
	}
}

// WithIdle sets localsprites' running -> warm -> cold timings.
func WithIdle(idle localsprites.Idle) Option {
	return func(c *config) { c.local.Idle = idle }
}

// WithDynamicConfig sets a Temporal server dynamic config value for every
// namespace, e.g. WithDynamicConfig("limit.historyCount.suggestContinueAsNew", 40).
func WithDynamicConfig(key string, value any) Option {
	return func(c *config) { c.dynamic[key] = value }
}

// WithoutWorker makes New start no worker; call Env.StartWorker.
func WithoutWorker() Option {
	return func(c *config) { c.noWorker = true }
}

// WithWorkerOptions replaces the options of the workers the Env starts
// (default: FailWorkflow panic policy, a 10s deadlock detection timeout).
func WithWorkerOptions(o sdkworker.Options) Option {
	return func(c *config) { c.workerOptions = o }
}

// WithActivityOptions replaces the options of the sprite activities
// (default: a 1s heartbeat interval).
func WithActivityOptions(o activities.Options) Option {
	return func(c *config) { c.activities = o }
}

// WithSessionConfig sets the limits of the sessions Env.Starter starts.
func WithSessionConfig(cfg workflows.SessionConfig) Option {
	return func(c *config) { c.session = cfg }
}

// WithLogLevel sets the lowest level of worker, client and localsprites
// logs copied to the test log (default slog.LevelWarn).
func WithLogLevel(l slog.Level) Option {
	return func(c *config) { c.logLevel = l }
}
