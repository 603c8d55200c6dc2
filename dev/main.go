// Command dev runs the whole of sprite-sessions in one process, on loopback:
// an embedded Temporal server (SQLite under .dev/), the Temporal Web UI,
// localsprites (a local Sprites API) and the worker with its metrics and
// reaper schedule.
//
//	go run ./dev
//	go run ./starter/cmd/sprite-sessions demo
//
// A restart keeps sessions and sprites; --in-memory keeps nothing. With
// SPRITES_API_URL and SPRITES_TOKEN set, the worker uses that Sprites API
// instead of localsprites.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && err != flag.ErrHelp {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	s, err := startStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	printBanner(stdout, s)
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "\nstopping...")
	case err = <-s.worker.done:
		err = fmt.Errorf("the worker failed: %w", err)
	}
	s.stop()
	return err
}

func parseFlags(args []string, stderr io.Writer) (devConfig, error) {
	cfg := devConfig{
		SpritesAPIURL: os.Getenv("SPRITES_API_URL"),
		SpritesToken:  os.Getenv("SPRITES_TOKEN"),
	}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Dir, "dir", ".dev", "state directory: Temporal's SQLite file, localsprites' sprites")
	fs.BoolVar(&cfg.InMemory, "in-memory", false, "keep Temporal in memory and sprites in a temporary directory: nothing survives a restart")
	fs.IntVar(&cfg.TemporalPort, "temporal-port", 7233, "Temporal frontend port")
	fs.IntVar(&cfg.UIPort, "ui-port", 8233, "Temporal Web UI port (-1 disables the UI)")
	fs.IntVar(&cfg.SpritesPort, "sprites-port", 8787, "localsprites port")
	fs.IntVar(&cfg.MetricsPort, "metrics-port", 9090, "worker /metrics port")
	fs.StringVar(&cfg.Namespace, "namespace", "default", "Temporal namespace")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return cfg, fmt.Errorf("--log-level: %w", err)
	}
	return cfg, nil
}

func printBanner(w io.Writer, s *stack) {
	storage := "SQLite " + s.cfg.dbFile()
	if s.cfg.InMemory {
		storage = "in memory"
	}
	fmt.Fprintf(w, "sprite-sessions dev stack up in %.1fs\n", time.Since(s.started).Seconds())
	fmt.Fprintf(w, "  Temporal  %s  namespace %s  (%s)\n", s.cfg.frontend(), s.cfg.Namespace, storage)
	if s.ui != nil {
		fmt.Fprintf(w, "  Web UI    http://%s\n", hostPort(loopback, s.cfg.UIPort))
	}
	fmt.Fprintf(w, "  Sprites   %s  (%s)\n", s.spritesURL, s.spritesNote)
	fmt.Fprintf(w, "  Worker    task queue %s, metrics http://%s/metrics%s\n",
		s.worker.taskQueue, hostPort(loopback, s.cfg.MetricsPort), s.worker.note)
	fmt.Fprintf(w, "\nNext:  go run ./starter/cmd/sprite-sessions demo\n")
	if s.cfg.TemporalPort != 7233 {
		fmt.Fprintf(w, "       (with TEMPORAL_ADDRESS=%s)\n", s.cfg.frontend())
	}
	fmt.Fprintf(w, "Ctrl-C stops everything.\n")
}
