// Command localsprites runs a Sprites-compatible API server whose sprites
// are directories and processes on this machine.
//
//	go run ./localsprites/cmd/localsprites -token secret -state ~/.localsprites
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
)

type faultFlags []localsprites.Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f), " faults") }

func (f *faultFlags) Set(v string) error {
	fault, err := localsprites.ParseFault(v)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localsprites:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg      localsprites.Config
		faults   faultFlags
		addr     = flag.String("addr", "127.0.0.1:8787", "listen address")
		sandbox  = flag.String("sandbox", "auto", "process isolation: auto (bubblewrap when installed), bwrap or plain")
		logLevel = flag.String("log-level", "info", "debug, info, warn or error")
	)
	flag.StringVar(&cfg.StateDir, "state", defaultStateDir(), "state directory (sprites, checkpoints)")
	flag.StringVar(&cfg.Token, "token", os.Getenv("SPRITES_TOKEN"), "bearer token clients must send (default $SPRITES_TOKEN)")
	flag.StringVar(&cfg.PublicURL, "public-url", "", "base of the sprite URLs reported (default: the request's host)")
	flag.DurationVar(&cfg.Idle.WarmAfter, "warm-after", 30*time.Second, "idle time before a running sprite turns warm (negative: never)")
	flag.DurationVar(&cfg.Idle.ColdAfter, "cold-after", 5*time.Minute, "warm time before a sprite goes cold and its processes stop (negative: never)")
	flag.BoolVar(&cfg.Quirks.MissingSprite500, "quirk-missing-500", false, "answer 500 for a missing sprite on get/delete, like the real service")
	flag.DurationVar(&cfg.Quirks.ExecHoldAfterExit, "quirk-exec-hold", 0, "keep exec sockets open this long after the exit frame (the real service: 5s)")
	flag.BoolVar(&cfg.Quirks.PolicyPostNoContent, "quirk-policy-204", false, "answer 204 to POST policy/network")
	flag.Int64Var(&cfg.MaxWriteBytes, "max-write-bytes", 256<<20, "largest fs/write body")
	flag.Uint64Var(&cfg.FaultSeed, "fault-seed", 1, "seed of the fault dice")
	flag.Var(&faults, "fault", `inject a fault, repeatable: "op=exec,kind=drop,rate=0.1" (kinds: latency, 429, 500, drop; keys: op, kind, rate, latency, retry_after, count)`)
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.Faults = faults
	switch strings.ToLower(*sandbox) {
	case "auto", "":
	case "bwrap":
		cfg.Sandbox = localsprites.SandboxBwrap
	case "plain":
		cfg.Sandbox = localsprites.SandboxPlain
	default:
		return fmt.Errorf("-sandbox must be auto, bwrap or plain")
	}
	if cfg.Token == "" {
		return fmt.Errorf("a token is required: -token or $SPRITES_TOKEN")
	}

	srv, err := localsprites.Start(cfg, *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	return srv.Close()
}

func defaultStateDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d + "/localsprites"
	}
	return ".localsprites"
}
