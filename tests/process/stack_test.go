package process

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
)

// stack is what a worker process runs against: the harness's Temporal
// server and starter (no in-process worker), and a localsprites server of
// our own whose token we know, because the process needs it in
// SPRITES_TOKEN and the harness does not export its own.
type stack struct {
	env     *harness.Env
	local   *localsprites.Server
	sprites *sprites.Client
	token   string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	env := harness.New(t, harness.WithoutWorker())
	token := "proc-sprites-token-" + randomHex(16)
	local, err := localsprites.Start(localsprites.Config{
		StateDir: t.TempDir(),
		Token:    token,
		Logger:   slog.New(slog.DiscardHandler),
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("starting localsprites: %v", err)
	}
	t.Cleanup(func() {
		if err := local.Close(); err != nil {
			t.Logf("closing localsprites: %v", err)
		}
	})
	return &stack{
		env:     env,
		local:   local,
		sprites: sprites.New(token, sprites.WithBaseURL(local.URL())),
		token:   token,
	}
}

// workerEnv is the whole environment of a worker process: nothing is
// inherited but PATH and HOME, so the test's own TEMPORAL_* or SPRITES_*
// variables cannot leak in.
func (s *stack) workerEnv(metricsAddr string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TEMPORAL_ADDRESS=" + s.env.Server.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE=" + s.env.Namespace,
		"SPRITES_API_URL=" + s.local.URL(),
		"SPRITES_TOKEN=" + s.token,
		"SPRITE_SESSIONS_TASK_QUEUE=" + s.env.TaskQueue,
		"SPRITE_SESSIONS_METRICS_ADDRESS=" + metricsAddr,
		"SPRITE_SESSIONS_HEARTBEAT_INTERVAL=1s",
		// Debug logs say the most: the token must be absent from them too.
		"SPRITE_SESSIONS_LOG_LEVEL=debug",
	}
	return append(env, extra...)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// processTimeout bounds the waits of these tests; generous, because two
// shared cores also run other suites.
const processTimeout = 60 * time.Second
