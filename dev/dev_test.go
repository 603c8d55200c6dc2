package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// startTestStack starts the stack and stops it at the end of the test, or
// earlier with the returned func.
func startTestStack(t *testing.T, ctx context.Context, cfg devConfig) (*stack, func()) {
	t.Helper()
	cfg.Namespace = "default"
	cfg.LogLevel = slog.LevelError
	s, err := startStack(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	var once sync.Once
	stop := func() { once.Do(s.stop) }
	t.Cleanup(stop)
	return s, stop
}

// waitForPoller waits until the worker polls the session task queue.
func waitForPoller(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.DescribeTaskQueue(ctx, workflows.DefaultTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.GetPollers()) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker polls %s (last error: %v)", workflows.DefaultTaskQueue, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStack_ServesTemporalAndTheWorkerAndKeepsSessionsAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := devConfig{Dir: t.TempDir()} // every port 0: free ports

	s, stop := startTestStack(t, ctx, cfg)
	if _, err := s.client.CheckHealth(ctx, nil); err != nil {
		t.Fatalf("frontend does not answer: %v", err)
	}
	waitForPoller(t, ctx, s.client)

	sess := starter.New(s.client).Session("dev-test")
	if _, err := sess.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "keep"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "keep", Path: "kept.txt", Content: "still here"}); err != nil {
		t.Fatal(err)
	}

	// Restart on the same ports and state directory.
	cfg.TemporalPort, cfg.UIPort, cfg.SpritesPort, cfg.MetricsPort = s.cfg.TemporalPort, s.cfg.UIPort, s.cfg.SpritesPort, s.cfg.MetricsPort
	stop()
	s, _ = startTestStack(t, ctx, cfg)
	waitForPoller(t, ctx, s.client)

	sess = starter.New(s.client).Session("dev-test")
	list, err := sess.ListSprites(ctx)
	if err != nil {
		t.Fatalf("the session is gone after a restart: %v", err)
	}
	if list.Count != 1 || list.Sprites[0].SpriteName != "keep" {
		t.Fatalf("sprites after restart = %+v, want [keep]", list)
	}
	got, err := sess.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "keep", Path: "kept.txt"})
	if err != nil || got.Content != "still here" {
		t.Fatalf("file after restart = %q, %v", got.Content, err)
	}
	end, err := sess.End(ctx, workflows.EndSessionRequest{})
	if err != nil || len(end.Deleted) != 1 {
		t.Fatalf("End = %+v, %v", end, err)
	}
	res, err := sess.Wait(ctx)
	if err != nil || res.Reason != workflows.EndReasonEnded || len(res.Deleted) != 1 {
		t.Fatalf("Wait = %+v, %v", res, err)
	}
}

func TestStack_NamesTheFlagOfABusyPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := startTestStack(t, ctx, devConfig{InMemory: true, UIPort: -1})

	_, err := startStack(ctx, devConfig{InMemory: true, UIPort: -1, Namespace: "default", TemporalPort: s.cfg.TemporalPort},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "--temporal-port") {
		t.Fatalf("second stack on a busy port: err = %v, want one naming --temporal-port", err)
	}
}
