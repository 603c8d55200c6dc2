// Command localsprites runs a Sprites-compatible API server whose sprites
// are directories and processes on this machine.
//
//	SPRITES_TOKEN=secret go run ./localsprites/cmd/localsprites -state ~/.localsprites
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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

// main exits 2 on bad usage, as flag does, and 1 when the server fails.
func main() {
	opts, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localsprites:", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "localsprites:", err)
		os.Exit(1)
	}
}

// options is the parsed command line.
type options struct {
	cfg  localsprites.Config
	addr string
}

// parseFlags reads the command line. The token's default comes from
// SPRITES_TOKEN after parsing, never as a flag default: flag prints
// defaults in its usage text, on -h and on every bad flag.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var (
		o        options
		faults   faultFlags
		fs       = flag.NewFlagSet("localsprites", flag.ContinueOnError)
		sandbox  = fs.String("sandbox", "auto", "process isolation: auto (bubblewrap when installed), bwrap or plain")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	)
	fs.SetOutput(stderr)
	cfg := &o.cfg
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8787", "listen address")
	fs.StringVar(&cfg.StateDir, "state", defaultStateDir(), "state directory (sprites, checkpoints)")
	fs.StringVar(&cfg.Token, "token", "", "bearer token clients must send (default $SPRITES_TOKEN; prefer the variable: arguments are visible to other users)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base of the sprite URLs reported (default: the request's host)")
	fs.DurationVar(&cfg.Idle.WarmAfter, "warm-after", 30*time.Second, "idle time before a running sprite turns warm (negative: never)")
	fs.DurationVar(&cfg.Idle.ColdAfter, "cold-after", 5*time.Minute, "warm time before a sprite goes cold and its processes stop (negative: never)")
	fs.BoolVar(&cfg.Quirks.MissingSprite500, "quirk-missing-500", false, "answer 500 for a missing sprite on get/delete, like the real service")
	fs.DurationVar(&cfg.Quirks.ExecHoldAfterExit, "quirk-exec-hold", 0, "keep exec sockets open this long after the exit frame (the real service: 5s)")
	fs.BoolVar(&cfg.Quirks.PolicyPostNoContent, "quirk-policy-204", false, "answer 204 to POST policy/network")
	fs.Int64Var(&cfg.MaxWriteBytes, "max-write-bytes", 256<<20, "largest fs/write body")
	fs.Uint64Var(&cfg.FaultSeed, "fault-seed", 1, "seed of the fault dice")
	fs.Var(&faults, "fault", `inject a fault, repeatable: "op=exec,kind=drop,rate=0.1" (kinds: latency, 429, 500, drop; keys: op, kind, rate, latency, retry_after, count)`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return o, fmt.Errorf("-log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.Faults = faults
	switch strings.ToLower(*sandbox) {
	case "auto", "":
	case "bwrap":
		cfg.Sandbox = localsprites.SandboxBwrap
	case "plain":
		cfg.Sandbox = localsprites.SandboxPlain
	default:
		return o, fmt.Errorf("-sandbox must be auto, bwrap or plain")
	}
	if cfg.Token == "" {
		cfg.Token = getenv("SPRITES_TOKEN")
	}
	if cfg.Token == "" {
		return o, fmt.Errorf("a token is required: $SPRITES_TOKEN or -token")
	}
	return o, nil
}

func run(o options) error {
	srv, err := localsprites.Start(o.cfg, o.addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	o.cfg.Logger.Info("shutting down")
	return srv.Close()
}

func defaultStateDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d + "/localsprites"
	}
	return ".localsprites"
}
