package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkStackStartup measures how long the whole stack (Temporal with
// SQLite, the Web UI, localsprites and the worker) takes to come up, on a
// fresh state directory and on a restart over an existing one:
//
//	cd dev && go test -run '^$' -bench StackStartup -benchtime 3x .
func BenchmarkStackStartup(b *testing.B) {
	for _, restart := range []bool{false, true} {
		name := "fresh"
		if restart {
			name = "restart"
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				cfg := devConfig{Dir: b.TempDir(), Namespace: "default", LogLevel: slog.LevelError}
				if restart {
					s := startBenchStack(b, cfg)
					s.stop()
				}
				start := time.Now()
				s := startBenchStack(b, cfg)
				total += time.Since(start)
				s.stop()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "startup_ms")
		})
	}
}

func startBenchStack(b *testing.B, cfg devConfig) *stack {
	b.Helper()
	s, err := startStack(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatalf("starting the stack: %v", err)
	}
	return s
}
