package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Config is everything the worker reads from its environment. The env tags
// are the variable names; the README lists each with its default.
type Config struct {
	// Temporal is the connection, read from the standard TEMPORAL_*
	// variables.
	Temporal TemporalConfig

	// SpritesAPIURL is the Sprites API (or a localsprites server).
	SpritesAPIURL string `env:"SPRITES_API_URL, default=https://api.sprites.dev"`
	// SpritesToken authenticates every Sprites call. Required. It is never
	// printed: Secret redacts itself.
	SpritesToken Secret `env:"SPRITES_TOKEN"`

	// TaskQueue is the task queue of the session and reaper workflows.
	TaskQueue string `env:"SPRITE_SESSIONS_TASK_QUEUE, default=sprite-sessions"`
	// MaxOutputCap bounds, in bytes, each of stdout and stderr that an
	// activity returns into workflow history, whatever a session asks.
	MaxOutputCap int `env:"SPRITE_SESSIONS_MAX_OUTPUT_CAP, default=524288"`
	// Session defaults: the limits of a session whose own SessionConfig
	// (set by whoever starts it) leaves them zero. A session resolves its
	// limits when it starts and keeps them, so a change here applies to
	// sessions started afterwards.
	SessionIdleTimeout   time.Duration `env:"SPRITE_SESSIONS_DEFAULT_IDLE_TIMEOUT, default=30m"`
	SessionMaxLifetime   time.Duration `env:"SPRITE_SESSIONS_DEFAULT_MAX_LIFETIME, default=24h"`
	SessionOutputCap     int           `env:"SPRITE_SESSIONS_DEFAULT_OUTPUT_CAP, default=262144"`
	SessionMaxWriteBytes int           `env:"SPRITE_SESSIONS_DEFAULT_MAX_WRITE_BYTES, default=1048576"`
	SessionMaxSprites    int           `env:"SPRITE_SESSIONS_DEFAULT_MAX_SPRITES, default=20"`

	// HeartbeatInterval is how often a running exec heartbeats.
	HeartbeatInterval time.Duration `env:"SPRITE_SESSIONS_HEARTBEAT_INTERVAL, default=5s"`

	// ReaperEnabled makes the worker create or update the reaper's schedule
	// at start. Every worker registers the reaper workflow either way.
	ReaperEnabled bool `env:"SPRITE_SESSIONS_REAPER_ENABLED, default=true"`
	// ReaperInterval is how often the reaper runs.
	ReaperInterval time.Duration `env:"SPRITE_SESSIONS_REAPER_INTERVAL, default=1m"`
	// ReaperGrace leaves sprites younger than this alone.
	ReaperGrace time.Duration `env:"SPRITE_SESSIONS_REAPER_GRACE, default=2m"`
	// ReaperDryRun makes the reaper report orphans without deleting them.
	ReaperDryRun bool `env:"SPRITE_SESSIONS_REAPER_DRY_RUN, default=false"`
	// ReaperScheduleID names the reaper's Temporal Schedule.
	ReaperScheduleID string `env:"SPRITE_SESSIONS_REAPER_SCHEDULE_ID, default=sprite-sessions-reaper"`

	// MetricsAddress is where /metrics, /healthz and /readyz listen; empty
	// disables the listener.
	MetricsAddress string `env:"SPRITE_SESSIONS_METRICS_ADDRESS, default=127.0.0.1:9090"`
	// MaxConcurrentActivities caps activities running at once in this worker.
	MaxConcurrentActivities int `env:"SPRITE_SESSIONS_MAX_CONCURRENT_ACTIVITIES, default=100"`
	// ActivitiesPerSecond caps activity starts per second in this worker; 0
	// means no cap.
	ActivitiesPerSecond float64 `env:"SPRITE_SESSIONS_ACTIVITIES_PER_SECOND, default=20"`
	// CreatesPerMinute caps the sprites this worker creates per minute (0:
	// no cap); Sprites allows about 10 a minute per organisation. A create
	// over the cap waits as a retry, holding no activity slot.
	CreatesPerMinute float64 `env:"SPRITE_SESSIONS_CREATES_PER_MINUTE, default=10"`
	// TaskQueueActivitiesPerSecond caps activity starts per second across
	// every worker of the task queue (enforced by the server); 0 means no cap.
	TaskQueueActivitiesPerSecond float64 `env:"SPRITE_SESSIONS_TASK_QUEUE_ACTIVITIES_PER_SECOND, default=0"`
	// WorkerStopTimeout is how long running activities get to finish once
	// shutdown begins.
	WorkerStopTimeout time.Duration `env:"SPRITE_SESSIONS_WORKER_STOP_TIMEOUT, default=30s"`

	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"SPRITE_SESSIONS_LOG_LEVEL, default=info"`
	// LogFormat is json or text.
	LogFormat string `env:"SPRITE_SESSIONS_LOG_FORMAT, default=json"`
}

// TemporalConfig is the Temporal connection. The variables are those of the
// Temporal CLI and go.temporal.io/sdk/contrib/envconfig, read here with the
// same meaning (TLS is on when TEMPORAL_TLS is true, when any TLS variable
// is set, or when an API key is set, unless TEMPORAL_TLS is false).
type TemporalConfig struct {
	Address   string `env:"TEMPORAL_ADDRESS, default=localhost:7233"`
	Namespace string `env:"TEMPORAL_NAMESPACE, default=default"`
	APIKey    Secret `env:"TEMPORAL_API_KEY"`
	// TLS is nil when TEMPORAL_TLS is unset.
	TLS                        *bool  `env:"TEMPORAL_TLS, noinit"`
	TLSClientCertPath          string `env:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	TLSClientCertData          Secret `env:"TEMPORAL_TLS_CLIENT_CERT_DATA"`
	TLSClientKeyPath           string `env:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	TLSClientKeyData           Secret `env:"TEMPORAL_TLS_CLIENT_KEY_DATA"`
	TLSServerCACertPath        string `env:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	TLSServerCACertData        string `env:"TEMPORAL_TLS_SERVER_CA_CERT_DATA"`
	TLSServerName              string `env:"TEMPORAL_TLS_SERVER_NAME"`
	TLSDisableHostVerification bool   `env:"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"`
}

// Secret is a string that never prints: fmt, slog and JSON all see
// "[redacted]" (or "" when empty). Use Value for the real thing.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// LogValue keeps slog from printing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders from printing the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SessionDefaults are the limits given to sessions that do not set their
// own (see workflows.NewSessionWorkflow).
func (c Config) SessionDefaults() workflows.SessionConfig {
	return workflows.SessionConfig{
		IdleTimeout:   c.SessionIdleTimeout,
		MaxLifetime:   c.SessionMaxLifetime,
		OutputCap:     c.SessionOutputCap,
		MaxWriteBytes: c.SessionMaxWriteBytes,
		MaxSprites:    c.SessionMaxSprites,
	}
}

// LoadConfig reads the configuration from lookuper (nil means the process
// environment), applies the defaults and validates it. Errors name the
// variable at fault and never contain a secret's value.
func LoadConfig(ctx context.Context, lookuper envconfig.Lookuper) (Config, error) {
	if lookuper == nil {
		lookuper = envconfig.OsLookuper()
	}
	var cfg Config
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target:   &cfg,
		Lookuper: lookuper,
		Mutators: []envconfig.Mutator{checkValues(&cfg)},
	})
	if err != nil {
		return Config{}, fmt.Errorf("configuration: %w", unwrapField(err))
	}
	// Secrets mounted from files often end in a newline, which would make
	// every request's header invalid; no token or key contains whitespace.
	cfg.SpritesToken = Secret(strings.TrimSpace(cfg.SpritesToken.Value()))
	cfg.Temporal.APIKey = Secret(strings.TrimSpace(cfg.Temporal.APIKey.Value()))
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func (c Config) validate() error {
	var errs []error
	if strings.TrimSpace(c.SpritesToken.Value()) == "" {
		errs = append(errs, errors.New("SPRITES_TOKEN is required: set it to a Sprites API token"))
	}
	if u, err := url.Parse(c.SpritesAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("SPRITES_API_URL=%q: want an http or https URL", c.SpritesAPIURL))
	}
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("SPRITE_SESSIONS_TASK_QUEUE must not be empty"))
	}
	if c.MaxOutputCap <= 0 || c.MaxOutputCap > workflows.MaxOutputCap {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_MAX_OUTPUT_CAP=%d: want 1 to %d bytes", c.MaxOutputCap, workflows.MaxOutputCap))
	}
	bounded := []struct {
		name     string
		v, limit int
	}{
		{"SPRITE_SESSIONS_DEFAULT_OUTPUT_CAP", c.SessionOutputCap, workflows.MaxOutputCap},
		{"SPRITE_SESSIONS_DEFAULT_MAX_WRITE_BYTES", c.SessionMaxWriteBytes, workflows.MaxWriteBytesLimit},
		{"SPRITE_SESSIONS_DEFAULT_MAX_SPRITES", c.SessionMaxSprites, workflows.MaxSpritesLimit},
	}
	for _, b := range bounded {
		if b.v <= 0 || b.v > b.limit {
			errs = append(errs, fmt.Errorf("%s=%d: want 1 to %d", b.name, b.v, b.limit))
		}
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"SPRITE_SESSIONS_DEFAULT_IDLE_TIMEOUT", c.SessionIdleTimeout},
		{"SPRITE_SESSIONS_DEFAULT_MAX_LIFETIME", c.SessionMaxLifetime},
		{"SPRITE_SESSIONS_HEARTBEAT_INTERVAL", c.HeartbeatInterval},
		{"SPRITE_SESSIONS_REAPER_INTERVAL", c.ReaperInterval},
		{"SPRITE_SESSIONS_REAPER_GRACE", c.ReaperGrace},
	}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%v: want a positive duration such as 90s or 2m", p.name, p.d))
		}
	}
	if c.WorkerStopTimeout < 0 {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_WORKER_STOP_TIMEOUT=%v: want zero or a positive duration", c.WorkerStopTimeout))
	}
	if c.MaxConcurrentActivities <= 0 {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_MAX_CONCURRENT_ACTIVITIES=%d: want a positive number", c.MaxConcurrentActivities))
	}
	if c.ActivitiesPerSecond < 0 {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_ACTIVITIES_PER_SECOND=%v: want 0 (no cap) or more", c.ActivitiesPerSecond))
	}
	if c.CreatesPerMinute < 0 {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_CREATES_PER_MINUTE=%v: want 0 (no cap) or more", c.CreatesPerMinute))
	}
	if c.TaskQueueActivitiesPerSecond < 0 {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_TASK_QUEUE_ACTIVITIES_PER_SECOND=%v: want 0 (no cap) or more", c.TaskQueueActivitiesPerSecond))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("SPRITE_SESSIONS_LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	if c.Temporal.Address == "" {
		errs = append(errs, errors.New("TEMPORAL_ADDRESS must not be empty"))
	}
	if c.Temporal.Namespace == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE must not be empty"))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("SPRITE_SESSIONS_LOG_LEVEL=%q: want debug, info, warn or error", s)
	}
	return l, nil
}

// String describes the configuration with its secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.attrs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return "worker.Config{" + c.String() + "}" }

// LogValue logs the configuration with its secrets redacted.
func (c Config) LogValue() slog.Value { return slog.GroupValue(c.attrs()...) }

func (c Config) attrs() []slog.Attr {
	tls := "unset"
	if c.Temporal.TLS != nil {
		tls = fmt.Sprint(*c.Temporal.TLS)
	}
	return []slog.Attr{
		slog.String("temporal_address", c.Temporal.Address),
		slog.String("temporal_namespace", c.Temporal.Namespace),
		slog.Bool("temporal_api_key_set", c.Temporal.APIKey != ""),
		slog.String("temporal_tls", tls),
		slog.String("sprites_api_url", c.SpritesAPIURL),
		slog.Bool("sprites_token_set", c.SpritesToken != ""),
		slog.String("task_queue", c.TaskQueue),
		slog.Int("max_output_cap", c.MaxOutputCap),
		slog.String("default_idle_timeout", c.SessionIdleTimeout.String()),
		slog.String("default_max_lifetime", c.SessionMaxLifetime.String()),
		slog.Int("default_output_cap", c.SessionOutputCap),
		slog.Int("default_max_write_bytes", c.SessionMaxWriteBytes),
		slog.Int("default_max_sprites", c.SessionMaxSprites),
		slog.String("heartbeat_interval", c.HeartbeatInterval.String()),
		slog.Bool("reaper_enabled", c.ReaperEnabled),
		slog.String("reaper_interval", c.ReaperInterval.String()),
		slog.String("reaper_grace", c.ReaperGrace.String()),
		slog.Bool("reaper_dry_run", c.ReaperDryRun),
		slog.String("reaper_schedule_id", c.ReaperScheduleID),
		slog.String("metrics_address", c.MetricsAddress),
		slog.Int("max_concurrent_activities", c.MaxConcurrentActivities),
		slog.Float64("activities_per_second", c.ActivitiesPerSecond),
		slog.Float64("creates_per_minute", c.CreatesPerMinute),
		slog.Float64("task_queue_activities_per_second", c.TaskQueueActivitiesPerSecond),
		slog.String("worker_stop_timeout", c.WorkerStopTimeout.String()),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
	}
}
