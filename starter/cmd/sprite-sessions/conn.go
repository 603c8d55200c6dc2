package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/sprite-sessions/sprite-sessions/worker"
)

// taskQueueEnv names the worker's task queue variable; the CLI defaults to
// it so both sides agree without a flag.
const taskQueueEnv = "SPRITE_SESSIONS_TASK_QUEUE"

// loadTemporalEnv reads the Temporal connection with the worker's own loader,
// so the CLI and the worker read the TEMPORAL_* variables the same way.
func loadTemporalEnv(ctx context.Context, l envconfig.Lookuper) (worker.TemporalConfig, error) {
	var t worker.TemporalConfig
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &t, Lookuper: l}); err != nil {
		return t, fmt.Errorf("reading TEMPORAL_* variables: %w", err)
	}
	return t, nil
}

// clientOptions adds a quiet logger to the worker's connection options: the
// SDK logs every connection at info level and a CLI only wants warnings.
func clientOptions(t worker.TemporalConfig) (client.Options, error) {
	opts, err := t.ClientOptions()
	if err != nil {
		return opts, err
	}
	opts.Logger = log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	return opts, nil
}

// dial connects to Temporal, checking the server answers.
func dial(ctx context.Context, t worker.TemporalConfig) (client.Client, error) {
	opts, err := clientOptions(t)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s, namespace %s (set TEMPORAL_ADDRESS, or start everything with `go run ./dev`): %w",
			t.Address, t.Namespace, err)
	}
	return c, nil
}
