package worker

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"
)

// The whole worker against a real Temporal server runs in tests/; here the
// start-up failure paths, which need no server.

// syncBuffer is a log sink safe for the SDK's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// unreachableWorker builds a worker whose Temporal client points at a port
// nothing listens on.
func unreachableWorker(t *testing.T, env map[string]string) (*Worker, *syncBuffer) {
	t.Helper()
	dead := httptest.NewServer(http.NotFoundHandler())
	addr := dead.Listener.Addr().String()
	dead.Close()
	c, err := client.NewLazyClient(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	vars := map[string]string{
		"SPRITES_TOKEN":                   secretToken,
		"SPRITES_API_URL":                 "http://" + addr,
		"SPRITE_SESSIONS_METRICS_ADDRESS": "127.0.0.1:0",
		"SPRITE_SESSIONS_REAPER_ENABLED":  "false",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := LoadConfig(context.Background(), envconfig.MapLookuper(vars))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	w, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), WithTemporalClient(c))
	if err != nil {
		t.Fatal(err)
	}
	return w, logs
}

func TestWorker_HandlerAnswersBeforeStart(t *testing.T) {
	w, _ := unreachableWorker(t, nil)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/metrics": 200} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestWorker_StartFailsCleanlyWhenTemporalIsUnreachable(t *testing.T) {
	w, logs := unreachableWorker(t, nil)
	err := w.Start(context.Background())
	if err == nil {
		w.Stop()
		t.Fatal("Start succeeded without a Temporal server")
	}
	if !strings.Contains(err.Error(), "sprite-sessions") {
		t.Errorf("error %q does not name the task queue", err)
	}
	// The endpoints it had opened are closed again.
	addr := w.MetricsAddr()
	if addr == "" {
		t.Fatal("metrics listener was never opened")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("metrics listener %s still accepts connections after a failed start", addr)
	}
	if err := w.startedErr(); err == nil {
		t.Error("a worker that failed to start reports ready")
	}
	w.Stop() // safe after a failed start
	if strings.Contains(logs.String(), secretToken) {
		t.Error("logs contain the token")
	}
}

func TestWorker_StartFailsWhenMetricsAddressIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	w, _ := unreachableWorker(t, map[string]string{"SPRITE_SESSIONS_METRICS_ADDRESS": ln.Addr().String()})
	err = w.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "SPRITE_SESSIONS_METRICS_ADDRESS") {
		t.Errorf("err = %v, want one naming SPRITE_SESSIONS_METRICS_ADDRESS", err)
	}
	if err := w.Start(context.Background()); err == nil {
		t.Error("a second Start succeeded")
	}
}

func TestRun_ShutdownDuringStartUpIsGraceful(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	addr := dead.Listener.Addr().String()
	dead.Close()
	cfg, err := LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{
		"SPRITES_TOKEN":                   secretToken,
		"SPRITES_API_URL":                 "http://" + addr,
		"TEMPORAL_ADDRESS":                addr,
		"SPRITE_SESSIONS_METRICS_ADDRESS": "127.0.0.1:0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	// Without a shutdown request, an unreachable Temporal is a start-up error.
	if err := Run(context.Background(), cfg, logger); err == nil {
		t.Fatal("Run with Temporal unreachable returned nil")
	}
	// With one, start-up being cut short is the graceful stop it asked for.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, cfg, logger); err != nil {
		t.Errorf("Run after a shutdown request = %v, want nil (exit 0)", err)
	}
}
