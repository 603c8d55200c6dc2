package process

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
)

func TestWorkerProcess_HealthAndReadinessAnswerOnceItPolls(t *testing.T) {
	s := newStack(t)
	addr := freeAddr(t)
	p := startWorker(t, "health", addr, s.workerEnv(addr))

	p.waitStatus(t, "/healthz", http.StatusOK)
	p.waitStatus(t, "/readyz", http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := p.get(ctx, "/readyz")
	if err != nil || code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz answered %d %q (%v), want 200 %q", code, body, err, "ready\n")
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.waitExit(t, processTimeout); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM, want 0", code)
	}
	p.assertNoToken(t, s.token)
}

// A worker whose token the Sprites API refuses is alive but not ready: every
// activity it ran would fail.
func TestWorkerProcess_NotReadyWhenTheSpritesAPIRefusesTheToken(t *testing.T) {
	s := newStack(t)
	addr := freeAddr(t)
	wrong := "proc-wrong-token-" + randomHex(8)
	p := startWorker(t, "unready", addr, s.workerEnv(addr, "SPRITES_TOKEN="+wrong))

	p.waitStatus(t, "/healthz", http.StatusOK)
	// Not ready while it starts, then not ready because of the token.
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	var last string
	harness.WaitUntil(t, processTimeout, "/readyz to name the Sprites API as the cause", func() bool {
		code, body, err := p.get(ctx, "/readyz")
		last = fmt.Sprintf("%d %q (%v)", code, body, err)
		if code == http.StatusOK {
			t.Fatalf("/readyz answered %s with a token the Sprites API refuses", last)
		}
		return code == http.StatusServiceUnavailable && strings.Contains(body, "sprites api")
	})

	p.signal(t, syscall.SIGTERM)
	if code := p.waitExit(t, processTimeout); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM, want 0", code)
	}
	p.assertNoToken(t, wrong)
}

func TestWorkerProcess_MissingTokenIsAStartupErrorNamingTheVariable(t *testing.T) {
	// Configuration fails before any connection, so nothing needs to run.
	addr := freeAddr(t)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"TEMPORAL_ADDRESS=127.0.0.1:1",
		"SPRITES_API_URL=http://127.0.0.1:1",
		"SPRITES_TOKEN=",
		"SPRITE_SESSIONS_METRICS_ADDRESS=" + addr,
	}
	p := startWorker(t, "no-token", addr, env)
	if code := p.waitExit(t, processTimeout); code == 0 {
		t.Fatal("worker without a token exited 0")
	}
	if out := p.output.String(); !strings.Contains(out, "SPRITES_TOKEN") {
		t.Fatalf("start-up error does not name SPRITES_TOKEN:\n%s", out)
	}
}
