package harness

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/starter"
)

// Env is one running system: Temporal, localsprites, a worker and clients.
type Env struct {
	// Server is the in-process Temporal server.
	Server *temporaltest.TestServer
	// Client is a Temporal client on Namespace.
	Client client.Client
	// Namespace is the test namespace the server pre-registered.
	Namespace string
	// TaskQueue is the unique task queue of this Env's workers.
	TaskQueue string
	// Local is the localsprites server.
	Local *localsprites.Server
	// Sprites is a client for Local; the workers use it too.
	Sprites *sprites.Client
	// Starter drives sessions on TaskQueue, with the WithSessionConfig limits.
	Starter *starter.Client

	t         testing.TB
	cfg       config
	transport *countingTransport
	logger    sdklog.Logger

	mu     sync.Mutex
	worker sdkworker.Worker
}

// New starts a Temporal server, localsprites with a fresh state directory
// and a random token, and (unless WithoutWorker) a worker. Everything stops
// in t.Cleanup.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	gate := &logGate{}
	// Registered first, so it runs last: no log line after the servers stop.
	t.Cleanup(gate.close)
	slogger := newTestLogger(t, cfg.logLevel, gate)

	e := &Env{t: t, cfg: cfg, TaskQueue: "e2e-" + randomHex(6), logger: sdklog.NewStructuredLogger(slogger)}

	local := cfg.local
	local.StateDir = t.TempDir()
	local.Token = randomHex(16)
	local.Logger = slogger.With("component", "localsprites")
	ls, err := localsprites.Start(local, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: starting localsprites: %v", err)
	}
	e.Local = ls
	t.Cleanup(func() {
		if err := ls.Close(); err != nil {
			t.Logf("harness: closing localsprites: %v", err)
		}
	})
	e.transport = newCountingTransport()
	t.Cleanup(e.transport.closeIdle)
	e.Sprites = sprites.New(local.Token,
		sprites.WithBaseURL(ls.URL()),
		sprites.WithHTTPClient(&http.Client{Transport: e.transport}),
		sprites.WithUserAgent("sprite-sessions-e2e"))

	dyn := dynamicconfig.StaticClient{
		// temporaltest sets this one itself; a dynamic config client of
		// ours replaces its whole map, so keep it.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
	}
	for k, v := range cfg.dynamic {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	serverOpts := []temporaltest.TestServerOption{
		temporaltest.WithBaseClientOptions(client.Options{Logger: e.logger}),
		temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(dyn)),
	}
	tt, isT := t.(*testing.T)
	if isT {
		// temporaltest then stops itself in a cleanup of its own; it runs
		// after the worker's cleanup below (last-in first-out).
		serverOpts = append(serverOpts, temporaltest.WithT(tt))
	}
	e.Server = temporaltest.NewServer(serverOpts...)
	if !isT {
		t.Cleanup(e.Server.Stop)
	}
	e.Client = e.Server.GetDefaultClient()
	e.Namespace = e.Server.GetDefaultNamespace()
	e.Starter = e.NewStarter()

	t.Cleanup(e.StopWorker)
	if !cfg.noWorker {
		e.StartWorker(t)
	}
	return e
}

// NewStarter returns a starter client for this Env's task queue; opts come
// after the task queue and the WithSessionConfig limits, so they can
// override them.
func (e *Env) NewStarter(opts ...starter.Option) *starter.Client {
	base := []starter.Option{starter.WithTaskQueue(e.TaskQueue), starter.WithSessionConfig(e.cfg.session)}
	return starter.New(e.Client, append(base, opts...)...)
}

// APIResponses counts the responses with this HTTP status that the Sprites
// client (and so every worker of this Env) received from localsprites.
func (e *Env) APIResponses(status int) int {
	return e.transport.count(status)
}

// BwrapAvailable reports whether localsprites can use bubblewrap here.
func BwrapAvailable() bool {
	for _, bin := range []string{"bwrap", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
