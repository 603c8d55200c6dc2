package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/temporal"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/worker"
)

// loopback is the only address the stack listens on.
const loopback = "127.0.0.1"

// devConfig is what the stack runs with. Port 0 picks a free port.
type devConfig struct {
	// Dir holds the state: the SQLite file, localsprites' sprites, its token.
	Dir string
	// InMemory keeps Temporal's data in memory and the sprites in a
	// temporary directory: nothing survives the process.
	InMemory bool

	TemporalPort int
	UIPort       int // -1 disables the Web UI
	SpritesPort  int
	MetricsPort  int
	Namespace    string

	// SpritesAPIURL and SpritesToken, when both set, point the worker at that
	// Sprites API instead of starting localsprites.
	SpritesAPIURL string
	SpritesToken  string

	LogLevel slog.Level
}

// stack is the running dev environment.
type stack struct {
	cfg     devConfig
	log     *slog.Logger
	started time.Time
	// serverLevel is the Temporal server's log level; stop raises it.
	serverLevel *slog.LevelVar

	temporal temporal.Server
	client   client.Client
	// metrics are the worker's; the stack's client reports into them.
	metrics *worker.Metrics

	ui     *uiserver.Server
	uiDone chan struct{}

	sprites     *localsprites.Server // nil with an external API
	spritesURL  string
	spritesDir  string
	tempDir     string // removed at stop (in-memory mode)
	spritesNote string

	worker *devWorker
}

func (c devConfig) dbFile() string {
	if c.InMemory {
		return ""
	}
	return filepath.Join(c.Dir, "temporal.db")
}

func (c devConfig) frontend() string { return hostPort(loopback, c.TemporalPort) }

// startStack starts every part in order; on error it stops what it started.
func startStack(ctx context.Context, cfg devConfig, log *slog.Logger) (_ *stack, err error) {
	s := &stack{cfg: cfg, log: log, started: time.Now(), serverLevel: new(slog.LevelVar), metrics: worker.NewMetrics()}
	s.serverLevel.Set(cfg.LogLevel)
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	ports := []port{
		{"Temporal frontend", "temporal-port", &s.cfg.TemporalPort},
		{"worker metrics", "metrics-port", &s.cfg.MetricsPort},
	}
	if s.cfg.UIPort >= 0 {
		ports = append(ports, port{"Temporal Web UI", "ui-port", &s.cfg.UIPort})
	}
	if !s.externalSprites() {
		ports = append(ports, port{"localsprites API", "sprites-port", &s.cfg.SpritesPort})
	}
	if err := claimPorts(loopback, ports); err != nil {
		return nil, err
	}
	if !cfg.InMemory {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the state directory: %w", err)
		}
	}

	if err := s.startTemporal(ctx); err != nil {
		return nil, err
	}
	if s.cfg.UIPort >= 0 {
		if err := s.startUI(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.startSprites(); err != nil {
		return nil, err
	}
	if s.worker, err = startWorker(ctx, s); err != nil {
		return nil, fmt.Errorf("starting the worker: %w", err)
	}
	return s, nil
}

func (s *stack) externalSprites() bool { return s.cfg.SpritesAPIURL != "" && s.cfg.SpritesToken != "" }

func (s *stack) startTemporal(ctx context.Context) error {
	srv, err := newTemporalServer(temporalOptions{
		IP:           loopback,
		Port:         s.cfg.TemporalPort,
		DatabaseFile: s.cfg.dbFile(),
		Namespaces:   []string{s.cfg.Namespace},
		Logger:       newServerLogger(s.log.Handler(), s.serverLevel),
	})
	if err != nil {
		return fmt.Errorf("creating the Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("starting the Temporal server: %w", err)
	}
	s.temporal = srv
	dialCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s.client, err = client.DialContext(dialCtx, client.Options{
		HostPort:  s.cfg.frontend(),
		Namespace: s.cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(s.log.With("component", "sdk")),
		// The worker runs on this client; its metrics go to /metrics.
		MetricsHandler: s.metrics.Handler(),
	})
	if err != nil {
		return fmt.Errorf("connecting to the embedded Temporal server: %w", err)
	}
	return nil
}

func (s *stack) startUI(ctx context.Context) error {
	s.ui = newUIServer(loopback, s.cfg.UIPort, s.cfg.frontend(), s.cfg.Namespace)
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		if err := s.ui.Start(); err != nil {
			s.log.Error("Web UI stopped", "err", err)
		}
	}()
	// Wait for the UI to answer, so the banner never points at nothing.
	url := fmt.Sprintf("http://%s/healthz", hostPort(loopback, s.cfg.UIPort))
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Web UI did not answer on %s: %w", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *stack) startSprites() error {
	if s.externalSprites() {
		s.spritesURL = strings.TrimRight(s.cfg.SpritesAPIURL, "/")
		s.spritesNote = "external Sprites API (SPRITES_API_URL)"
		return nil
	}
	dir := filepath.Join(s.cfg.Dir, "sprites")
	token, err := s.localToken(dir)
	if err != nil {
		return err
	}
	if s.cfg.InMemory {
		if s.tempDir, err = os.MkdirTemp("", "sprite-sessions-dev-"); err != nil {
			return err
		}
		dir = s.tempDir
	}
	addr := hostPort(loopback, s.cfg.SpritesPort)
	srv, err := localsprites.Start(localsprites.Config{
		StateDir:  dir,
		Token:     token,
		PublicURL: "http://" + addr,
		Logger:    s.log.With("component", "localsprites"),
	}, addr)
	if err != nil {
		return fmt.Errorf("starting localsprites: %w", err)
	}
	s.sprites, s.spritesURL, s.spritesDir = srv, srv.URL(), dir
	s.cfg.SpritesToken = token
	s.spritesNote = fmt.Sprintf("localsprites, sandbox %s, state %s", srv.SandboxName(), dir)
	return nil
}

// localToken returns localsprites' bearer token, kept in its state
// directory so it stays the same across restarts (and can be read to call
// the API directly); in-memory mode makes a fresh one. The file lives inside
// localsprites' state directory because that directory is hidden from the
// sprites' sandboxes, and the token would let a sprite drive the backend.
func (s *stack) localToken(stateDir string) (string, error) {
	fresh := func() string {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	if s.cfg.InMemory {
		return fresh(), nil
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, "token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) && err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	token := fresh()
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return token, nil
}

// stop stops everything in the reverse order of start. It is safe on a
// partly started stack.
func (s *stack) stop() {
	// A stopping server logs errors for every poll and transaction it cuts
	// short; none of it is news. Stop's own error is still reported.
	s.serverLevel.Set(slog.LevelError + 8)
	if s.worker != nil {
		s.worker.stop()
	}
	if s.sprites != nil {
		if err := s.sprites.Close(); err != nil {
			s.log.Warn("stopping localsprites", "err", err)
		}
	}
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.temporal != nil {
		if err := s.temporal.Stop(); err != nil {
			s.log.Warn("stopping the Temporal server", "err", err)
		}
	}
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}
