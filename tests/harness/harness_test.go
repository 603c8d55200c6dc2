package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

func TestNew_RunsASessionAgainstLocalsprites(t *testing.T) {
	env := harness.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s := env.Starter.Session("harness-" + t.Name()[:4])
	if _, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	owned, err := env.SpritesOwnedBy(ctx, s.WorkflowID())
	if err != nil || len(owned) != 1 {
		t.Fatalf("SpritesOwnedBy = %v, %v; want one sprite", harness.Names(owned), err)
	}
	// An unlabelled sprite is on the backend but owned by no session.
	if _, err := env.Sprites.CreateSprite(ctx, sprites.CreateRequest{Name: "stray"}); err != nil {
		t.Fatalf("creating an unlabelled sprite: %v", err)
	}
	env.WaitForSprites(t, "", 2, 5*time.Second)
	if _, err := s.End(ctx, workflows.EndSessionRequest{}); err != nil {
		t.Fatalf("End: %v", err)
	}
	env.WaitForSprites(t, s.WorkflowID(), 0, 5*time.Second)

	// The audit must see the stray sprite: it fails a recorder, not t.
	rec := &recorder{TB: t}
	env.AssertNoSprites(rec)
	if !rec.failed {
		t.Fatal("AssertNoSprites passed with a sprite left on the backend")
	}
	if err := env.Sprites.DeleteSprite(ctx, "stray"); err != nil {
		t.Fatalf("deleting the stray sprite: %v", err)
	}
	env.AssertNoSprites(t)
}

func TestStopWorker_UpdatesWaitForTheNextWorker(t *testing.T) {
	env := harness.New(t, harness.WithoutWorker())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s := env.Starter.Session("harness-restart")
	done := make(chan error, 1)
	go func() {
		_, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CreateSprite returned without a worker: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	env.StartWorker(t)
	if err := <-done; err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	env.StopWorker()
	env.StartWorker(t)
	if _, err := s.End(ctx, workflows.EndSessionRequest{}); err != nil {
		t.Fatalf("End after a worker restart: %v", err)
	}
	env.AssertNoSprites(t)
}

func TestWithDynamicConfig_ReachesTheServer(t *testing.T) {
	env := harness.New(t, harness.WithDynamicConfig("limit.historyCount.suggestContinueAsNew", 20))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s := env.Starter.Session("harness-can")
	if _, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	for i := 0; ; i++ {
		d, err := s.Describe(ctx)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		if d.Runs > 0 {
			break
		}
		if i == 20 {
			t.Fatalf("no continue-as-new after %d updates with suggestContinueAsNew=20", i)
		}
		if _, err := s.ServiceURL(ctx, workflows.ServiceURLRequest{SpriteName: "box"}); err != nil {
			t.Fatalf("ServiceURL: %v", err)
		}
	}
	if _, err := s.End(ctx, workflows.EndSessionRequest{}); err != nil {
		t.Fatalf("End: %v", err)
	}
	env.AssertNoSprites(t)
}

// recorder is a testing.TB whose failures are recorded instead of failing
// the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
