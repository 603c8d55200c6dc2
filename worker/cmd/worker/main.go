// Command worker runs the sprite-sessions Temporal worker. It is configured
// from the environment (see the README's table) and stops gracefully on
// SIGINT or SIGTERM: polling stops, running activities get
// SPRITE_SESSIONS_WORKER_STOP_TIMEOUT, then it exits 0.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sprite-sessions/sprite-sessions/worker"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills at once.
		<-ctx.Done()
		stop()
	}()

	cfg, err := worker.LoadConfig(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	logger := worker.NewLogger(os.Stderr, cfg)
	if err := worker.Run(ctx, cfg, logger); err != nil {
		logger.Error("worker exited with an error", "error", err)
		return 1
	}
	logger.Info("worker exited")
	return 0
}
