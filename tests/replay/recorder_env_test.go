package replay

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/reaper"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/worker"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// recorderToken is the Sprites token of the recording runs. It is fake and
// recognisable, so TestFixtures_HoldNoToken can prove it never reached a
// history.
const recorderToken = "FAKE-sprites-token-of-the-replay-recorder"

// recorderIdentity replaces the default pid@hostname identity, so fixtures
// do not carry the name of the machine that recorded them.
const recorderIdentity = "replay-recorder"

// recording is a harness Env whose worker talks to a localsprites server of
// its own that accepts recorderToken: the harness gives its localsprites a
// random token it does not export, so a scan could not prove that token
// absent.
type recording struct {
	env     *harness.Env
	client  client.Client
	sprites *sprites.Client
	starter *starter.Client
}

func newRecording(t *testing.T, session workflows.SessionConfig, opts ...harness.Option) *recording {
	t.Helper()
	env := harness.New(t, append(opts, harness.WithoutWorker())...)

	local, err := localsprites.Start(localsprites.Config{
		StateDir: t.TempDir(),
		Token:    recorderToken,
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
	sc := sprites.New(recorderToken, sprites.WithBaseURL(local.URL()), sprites.WithUserAgent("sprite-sessions-replay-recorder"))

	c := env.Server.NewClientWithOptions(client.Options{Identity: recorderIdentity})
	t.Cleanup(c.Close)

	w := sdkworker.New(c, env.TaskQueue, sdkworker.Options{
		Identity: recorderIdentity,
		// Without it the SDK stamps every task with the md5 of the test
		// binary: noise in every re-recorded fixture, and shaped like a
		// harness token. (Deprecated for versioning, which this is not.)
		BuildID:                  recorderIdentity,
		WorkflowPanicPolicy:      sdkworker.FailWorkflow,
		DeadlockDetectionTimeout: 10 * time.Second,
	})
	worker.Register(w,
		activities.New(sc, activities.Options{HeartbeatInterval: time.Second}),
		reaper.NewActivities(sc, c, env.Namespace),
		workflows.SessionConfig{})
	if err := w.Start(); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(w.Stop)

	return &recording{
		env:     env,
		client:  c,
		sprites: sc,
		starter: starter.New(c, starter.WithTaskQueue(env.TaskQueue), starter.WithSessionConfig(session)),
	}
}

// assertNoSprites is the leak audit of a recording: a path that leaks
// sprites is not one to record.
func (r *recording) assertNoSprites(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var left []string
	for sp, err := range r.sprites.AllSprites(ctx, sprites.ListOptions{}) {
		if err != nil {
			t.Fatalf("leak audit: %v", err)
		}
		left = append(left, sp.Name)
	}
	if len(left) > 0 {
		t.Fatalf("leak audit: sprites left on localsprites: %v", left)
	}
}
