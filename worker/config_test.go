package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

const (
	secretToken  = "sk-sprites-7d1e0c5a"
	secretAPIKey = "tmprl-key-3b9f44e2"
)

func load(t *testing.T, env map[string]string) (Config, error) {
	t.Helper()
	return LoadConfig(context.Background(), envconfig.MapLookuper(env))
}

func TestLoadConfig_AppliesDefaults(t *testing.T) {
	cfg, err := load(t, map[string]string{"SPRITES_TOKEN": secretToken})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Temporal:                     TemporalConfig{Address: "localhost:7233", Namespace: "default"},
		SpritesAPIURL:                "https://api.sprites.dev",
		SpritesToken:                 secretToken,
		TaskQueue:                    workflows.DefaultTaskQueue,
		MaxOutputCap:                 workflows.MaxOutputCap,
		SessionIdleTimeout:           workflows.DefaultIdleTimeout,
		SessionMaxLifetime:           workflows.DefaultMaxLifetime,
		SessionOutputCap:             workflows.DefaultOutputCap,
		SessionMaxWriteBytes:         workflows.DefaultMaxWriteBytes,
		SessionMaxSprites:            workflows.DefaultMaxSprites,
		HeartbeatInterval:            5 * time.Second,
		ReaperEnabled:                true,
		ReaperInterval:               time.Minute,
		ReaperGrace:                  2 * time.Minute,
		ReaperDryRun:                 false,
		ReaperScheduleID:             "sprite-sessions-reaper",
		MetricsAddress:               "127.0.0.1:9090",
		MaxConcurrentActivities:      100,
		ActivitiesPerSecond:          20,
		CreatesPerMinute:             10,
		TaskQueueActivitiesPerSecond: 0,
		WorkerStopTimeout:            30 * time.Second,
		LogLevel:                     "info",
		LogFormat:                    "json",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %s\nwant %s", cfg, want)
	}
	if cfg.Temporal.TLS != nil {
		t.Errorf("TEMPORAL_TLS unset, but TLS = %v", *cfg.Temporal.TLS)
	}
}

// everyVariable sets each variable to a value other than its default.
var everyVariable = map[string]string{
	"TEMPORAL_ADDRESS":                                 "temporal.example:7233",
	"TEMPORAL_NAMESPACE":                               "prod",
	"TEMPORAL_API_KEY":                                 secretAPIKey,
	"TEMPORAL_TLS":                                     "true",
	"TEMPORAL_TLS_CLIENT_CERT_PATH":                    "/certs/client.pem",
	"TEMPORAL_TLS_CLIENT_CERT_DATA":                    "cert-data",
	"TEMPORAL_TLS_CLIENT_KEY_PATH":                     "/certs/client.key",
	"TEMPORAL_TLS_CLIENT_KEY_DATA":                     "key-data",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH":                 "/certs/ca.pem",
	"TEMPORAL_TLS_SERVER_CA_CERT_DATA":                 "ca-data",
	"TEMPORAL_TLS_SERVER_NAME":                         "temporal.internal",
	"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION":           "true",
	"SPRITES_API_URL":                                  "http://127.0.0.1:8080",
	"SPRITES_TOKEN":                                    secretToken,
	"SPRITE_SESSIONS_TASK_QUEUE":                       "tq-2",
	"SPRITE_SESSIONS_MAX_OUTPUT_CAP":                   "65536",
	"SPRITE_SESSIONS_HEARTBEAT_INTERVAL":               "2s",
	"SPRITE_SESSIONS_DEFAULT_IDLE_TIMEOUT":             "10m",
	"SPRITE_SESSIONS_DEFAULT_MAX_LIFETIME":             "2h",
	"SPRITE_SESSIONS_DEFAULT_OUTPUT_CAP":               "4096",
	"SPRITE_SESSIONS_DEFAULT_MAX_WRITE_BYTES":          "8192",
	"SPRITE_SESSIONS_DEFAULT_MAX_SPRITES":              "3",
	"SPRITE_SESSIONS_REAPER_ENABLED":                   "false",
	"SPRITE_SESSIONS_REAPER_INTERVAL":                  "5m",
	"SPRITE_SESSIONS_REAPER_GRACE":                     "90s",
	"SPRITE_SESSIONS_REAPER_DRY_RUN":                   "true",
	"SPRITE_SESSIONS_REAPER_SCHEDULE_ID":               "reaper-b",
	"SPRITE_SESSIONS_METRICS_ADDRESS":                  "0.0.0.0:9191",
	"SPRITE_SESSIONS_MAX_CONCURRENT_ACTIVITIES":        "16",
	"SPRITE_SESSIONS_ACTIVITIES_PER_SECOND":            "2.5",
	"SPRITE_SESSIONS_CREATES_PER_MINUTE":               "4",
	"SPRITE_SESSIONS_TASK_QUEUE_ACTIVITIES_PER_SECOND": "7",
	"SPRITE_SESSIONS_WORKER_STOP_TIMEOUT":              "1m30s",
	"SPRITE_SESSIONS_LOG_LEVEL":                        "debug",
	"SPRITE_SESSIONS_LOG_FORMAT":                       "text",
}

func TestLoadConfig_ParsesEveryVariable(t *testing.T) {
	cfg, err := load(t, everyVariable)
	if err != nil {
		t.Fatal(err)
	}
	tlsOn := true
	want := Config{
		Temporal: TemporalConfig{
			Address: "temporal.example:7233", Namespace: "prod", APIKey: secretAPIKey, TLS: &tlsOn,
			TLSClientCertPath: "/certs/client.pem", TLSClientCertData: "cert-data",
			TLSClientKeyPath: "/certs/client.key", TLSClientKeyData: "key-data",
			TLSServerCACertPath: "/certs/ca.pem", TLSServerCACertData: "ca-data",
			TLSServerName: "temporal.internal", TLSDisableHostVerification: true,
		},
		SpritesAPIURL:                "http://127.0.0.1:8080",
		SpritesToken:                 secretToken,
		TaskQueue:                    "tq-2",
		MaxOutputCap:                 65536,
		SessionIdleTimeout:           10 * time.Minute,
		SessionMaxLifetime:           2 * time.Hour,
		SessionOutputCap:             4096,
		SessionMaxWriteBytes:         8192,
		SessionMaxSprites:            3,
		HeartbeatInterval:            2 * time.Second,
		ReaperEnabled:                false,
		ReaperInterval:               5 * time.Minute,
		ReaperGrace:                  90 * time.Second,
		ReaperDryRun:                 true,
		ReaperScheduleID:             "reaper-b",
		MetricsAddress:               "0.0.0.0:9191",
		MaxConcurrentActivities:      16,
		ActivitiesPerSecond:          2.5,
		CreatesPerMinute:             4,
		TaskQueueActivitiesPerSecond: 7,
		WorkerStopTimeout:            90 * time.Second,
		LogLevel:                     "debug",
		LogFormat:                    "text",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("parsed:\n got %#v\nwant %#v", cfg, want)
	}

	// The table above must keep up with Config.
	var tags []string
	collectKeys(reflect.TypeFor[Config](), &tags)
	if got, want := slices.Sorted(slices.Values(tags)), slices.Sorted(maps.Keys(everyVariable)); !slices.Equal(got, want) {
		t.Errorf("Config reads %v\nthe test sets %v", got, want)
	}
}

func collectKeys(t reflect.Type, keys *[]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("env")
		if tag == "" && f.Type.Kind() == reflect.Struct {
			collectKeys(f.Type, keys)
			continue
		}
		*keys = append(*keys, strings.TrimSpace(strings.Split(tag, ",")[0]))
	}
}

func TestLoadConfig_EmptyMetricsAddressDisablesListener(t *testing.T) {
	cfg, err := load(t, map[string]string{"SPRITES_TOKEN": secretToken, "SPRITE_SESSIONS_METRICS_ADDRESS": ""})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddress != "" {
		t.Errorf("MetricsAddress = %q, want empty", cfg.MetricsAddress)
	}
}

// TestLoadConfig_TrimsWhitespaceAroundSecrets loads secrets the way a
// mounted secret file often carries them, with a final newline: sent as
// is, a newline makes every Sprites request fail as an invalid header.
func TestLoadConfig_TrimsWhitespaceAroundSecrets(t *testing.T) {
	cfg, err := load(t, map[string]string{"SPRITES_TOKEN": " " + secretToken + "\n", "TEMPORAL_API_KEY": secretAPIKey + "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SpritesToken.Value() != secretToken || cfg.Temporal.APIKey.Value() != secretAPIKey {
		t.Errorf("token %q, API key %q: want them without the whitespace", cfg.SpritesToken.Value(), cfg.Temporal.APIKey.Value())
	}
}

func TestLoadConfig_MissingTokenIsAnErrorNamingTheVariable(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"unset":      {"TEMPORAL_API_KEY": secretAPIKey},
		"empty":      {"SPRITES_TOKEN": "", "TEMPORAL_API_KEY": secretAPIKey},
		"whitespace": {"SPRITES_TOKEN": "  ", "TEMPORAL_API_KEY": secretAPIKey},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, env)
			if err == nil {
				t.Fatal("loaded without a token")
			}
			if !strings.Contains(err.Error(), "SPRITES_TOKEN") {
				t.Errorf("error %q does not name SPRITES_TOKEN", err)
			}
			if strings.Contains(err.Error(), secretAPIKey) {
				t.Errorf("error %q contains a secret", err)
			}
		})
	}
}

func TestLoadConfig_BadValuesAreErrorsNamingTheVariable(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{"SPRITE_SESSIONS_REAPER_INTERVAL", "5 minutes", "duration"},
		{"SPRITE_SESSIONS_REAPER_GRACE", "120", "duration"},
		{"SPRITE_SESSIONS_WORKER_STOP_TIMEOUT", "soon", "duration"},
		{"SPRITE_SESSIONS_HEARTBEAT_INTERVAL", "", "duration"},
		{"SPRITE_SESSIONS_REAPER_INTERVAL", "-1m", "positive"},
		{"SPRITE_SESSIONS_REAPER_GRACE", "0s", "positive"},
		{"SPRITE_SESSIONS_WORKER_STOP_TIMEOUT", "-5s", "zero or a positive"},
		{"SPRITE_SESSIONS_REAPER_ENABLED", "yes please", "true or false"},
		{"TEMPORAL_TLS", "maybe", "true or false"},
		{"SPRITE_SESSIONS_MAX_CONCURRENT_ACTIVITIES", "lots", "whole number"},
		{"SPRITE_SESSIONS_MAX_CONCURRENT_ACTIVITIES", "0", "positive"},
		{"SPRITE_SESSIONS_ACTIVITIES_PER_SECOND", "fast", "number"},
		{"SPRITE_SESSIONS_ACTIVITIES_PER_SECOND", "-1", "0 (no cap)"},
		{"SPRITE_SESSIONS_CREATES_PER_MINUTE", "-1", "0 (no cap)"},
		{"SPRITE_SESSIONS_MAX_OUTPUT_CAP", "4194304", "bytes"},
		{"SPRITE_SESSIONS_LOG_LEVEL", "loud", "debug, info"},
		{"SPRITE_SESSIONS_LOG_FORMAT", "xml", "json or text"},
		{"SPRITES_API_URL", "api.sprites.dev", "http or https"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := load(t, map[string]string{"SPRITES_TOKEN": secretToken, "TEMPORAL_API_KEY": secretAPIKey, tt.key: tt.value})
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.key) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want it to name %s and say %q", msg, tt.key, tt.want)
			}
			if strings.Contains(msg, secretToken) || strings.Contains(msg, secretAPIKey) {
				t.Errorf("error %q contains a secret", msg)
			}
		})
	}
}

func TestConfig_NeverPrintsSecrets(t *testing.T) {
	cfg, err := load(t, everyVariable)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", cfg, "token", cfg.SpritesToken)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", cfg, "temporal", cfg.Temporal)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":           fmt.Sprintf("%v", cfg),
		"%+v":          fmt.Sprintf("%+v", cfg),
		"%#v":          fmt.Sprintf("%#v", cfg),
		"%s":           fmt.Sprintf("%s", cfg),
		"%+v temporal": fmt.Sprintf("%+v", cfg.Temporal),
		"%#v temporal": fmt.Sprintf("%#v", cfg.Temporal),
		"slog":         logged.String(),
		"json":         string(js),
	}
	for how, out := range outputs {
		for _, secret := range []string{secretToken, secretAPIKey, "key-data", "cert-data"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains a secret: %s", how, out)
			}
		}
	}
	if !strings.Contains(outputs["%v"], "sprites_token_set=true") {
		t.Errorf("%%v output %q should say the token is set", outputs["%v"])
	}
}

func TestConfig_SessionDefaultsReachTheSessionConfig(t *testing.T) {
	cfg, err := load(t, everyVariable)
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.SessionConfig{IdleTimeout: 10 * time.Minute, MaxLifetime: 2 * time.Hour, OutputCap: 4096, MaxWriteBytes: 8192, MaxSprites: 3}
	if got := cfg.SessionDefaults(); got != want {
		t.Errorf("SessionDefaults() = %+v, want %+v", got, want)
	}
}

func TestLoadConfig_RefusesSessionDefaultsOutOfBounds(t *testing.T) {
	for name, value := range map[string]string{
		"SPRITE_SESSIONS_DEFAULT_IDLE_TIMEOUT":    "0s",
		"SPRITE_SESSIONS_DEFAULT_MAX_LIFETIME":    "-1h",
		"SPRITE_SESSIONS_DEFAULT_OUTPUT_CAP":      "600000",
		"SPRITE_SESSIONS_DEFAULT_MAX_WRITE_BYTES": "0",
		"SPRITE_SESSIONS_DEFAULT_MAX_SPRITES":     "201",
	} {
		_, err := load(t, map[string]string{"SPRITES_TOKEN": secretToken, name: value})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v, want one naming the variable", name, value, err)
		}
	}
}

func TestConfig_WorkerOptionsCarryTheCaps(t *testing.T) {
	cfg, err := load(t, everyVariable)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.workerOptions(nil)
	if o.MaxConcurrentActivityExecutionSize != 16 || o.WorkerActivitiesPerSecond != 2.5 ||
		o.TaskQueueActivitiesPerSecond != 7 || o.WorkerStopTimeout != 90*time.Second {
		t.Errorf("worker options = %+v, want the configured caps and stop timeout", o)
	}
}
