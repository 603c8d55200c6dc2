package process

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// scrapeMetrics fetches and parses the process's /metrics, and fails t when
// the scrape shows the token.
func (p *workerProc) scrapeMetrics(t *testing.T, token string) scrape {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := p.get(ctx, "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("/metrics of worker %s answered %d (%v)", p.name, code, err)
	}
	if strings.Contains(body, token) {
		t.Fatalf("/metrics of worker %s shows the Sprites token", p.name)
	}
	sc, err := parseExposition(body)
	if err != nil {
		t.Fatalf("parsing /metrics of worker %s: %v", p.name, err)
	}
	return sc
}

// metricCheck is one expectation on a scrape: the series named name with
// labels including labels sum to a value within [min, max].
type metricCheck struct {
	name     string
	labels   map[string]string
	min, max float64
}

func (sc scrape) check(t *testing.T, worker string, checks []metricCheck) {
	t.Helper()
	for _, c := range checks {
		v, found := sc.sum(c.name, c.labels)
		if !found && c.min <= 0 {
			continue // a counter that never moved is not exported
		}
		if !found || v < c.min || v > c.max {
			t.Errorf("worker %s: %s%v = %v (found %v), want %v..%v", worker, c.name, c.labels, v, found, c.min, c.max)
		}
	}
}

// After real sessions the scrape holds the SDK's metrics and ours, with
// values that match what happened; and workflow-side counters are not
// counted again when a second process replays a session's history.
func TestWorkerProcess_MetricsAfterASessionAreSensibleAndNotDoubledByReplay(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*processTimeout)
	defer cancel()

	addrA := freeAddr(t)
	a := startWorker(t, "A", addrA, s.workerEnv(addrA))
	a.waitStatus(t, "/readyz", http.StatusOK)

	sess := s.env.Starter.Session("metrics")
	if _, err := sess.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	ex, err := sess.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo hi"})
	if err != nil || ex.ExitCode != 0 {
		t.Fatalf("Exec: %+v %v", ex, err)
	}
	risky, err := sess.RunRiskyStep(ctx, workflows.RiskyStepRequest{Sprites: []string{"box"},
		Steps: []workflows.RiskyCommand{{Command: "rm -f marker; exit 1"}}})
	if err != nil || risky.Success || !risky.Restored {
		t.Fatalf("RunRiskyStep: %+v %v, want a failed step, restored", risky, err)
	}

	scA := a.scrapeMetrics(t, s.token)
	for _, prefix := range []string{"temporal_request", "temporal_workflow_task_execution_latency_seconds", "temporal_activity_execution_latency_seconds", "temporal_num_pollers"} {
		if !scA.hasPrefix(prefix) {
			t.Errorf("worker A: no %s* series among the SDK's metrics", prefix)
		}
	}
	scA.check(t, "A", []metricCheck{
		{name: "sprite_sessions_session_started_total", min: 1, max: 1},
		{name: "sprite_sessions_update_total", labels: map[string]string{"update": workflows.UpdateCreateSprite, "outcome": "ok"}, min: 1, max: 1},
		{name: "sprite_sessions_update_total", labels: map[string]string{"update": workflows.UpdateExec, "outcome": "ok"}, min: 1, max: 1},
		{name: "sprite_sessions_update_total", labels: map[string]string{"update": workflows.UpdateRunRiskyStep, "outcome": "ok"}, min: 1, max: 1},
		{name: "sprite_sessions_risky_step_total", labels: map[string]string{"outcome": "restored"}, min: 1, max: 1},
		{name: "sprite_sessions_sprites_created_total", min: 1, max: 1},
		{name: "sprite_sessions_sprites_live", min: 1, max: 1},
		{name: "sprite_sessions_sprites_api_requests_total", min: 2, max: 1e6},
		{name: "sprite_sessions_sprites_api_request_duration_seconds_count", min: 2, max: 1e6},
		{name: "temporal_activity_execution_latency_seconds_count", min: 2, max: 1e6},
	})

	a.signal(t, syscall.SIGTERM)
	if code := a.waitExit(t, processTimeout); code != 0 {
		t.Fatalf("worker A exited %d after SIGTERM, want 0", code)
	}

	// Worker B has no cached state: its first task of the session replays
	// the whole history, including the start and the first two updates.
	addrB := freeAddr(t)
	b := startWorker(t, "B", addrB, s.workerEnv(addrB))
	b.waitStatus(t, "/readyz", http.StatusOK)
	ex, err = sess.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo again"})
	if err != nil || ex.ExitCode != 0 {
		t.Fatalf("Exec on worker B: %+v %v", ex, err)
	}
	end, err := sess.End(ctx, workflows.EndSessionRequest{})
	if err != nil || len(end.Deleted) != 1 {
		t.Fatalf("EndSession: %+v %v", end, err)
	}
	if left, err := countSprites(ctx, s.sprites); err != nil || left != 0 {
		t.Fatalf("%d sprite(s) left on localsprites after the session ended (%v)", left, err)
	}

	scB := b.scrapeMetrics(t, s.token)
	scB.check(t, "B", []metricCheck{
		{name: "sprite_sessions_session_started_total", min: 0, max: 0},
		{name: "sprite_sessions_update_total", labels: map[string]string{"update": workflows.UpdateCreateSprite}, min: 0, max: 0},
		{name: "sprite_sessions_risky_step_total", min: 0, max: 0},
		{name: "sprite_sessions_update_total", labels: map[string]string{"update": workflows.UpdateExec, "outcome": "ok"}, min: 1, max: 1},
		{name: "sprite_sessions_session_ended_total", labels: map[string]string{"reason": workflows.EndReasonEnded}, min: 1, max: 1},
		{name: "sprite_sessions_cleanup_sprite_total", labels: map[string]string{"outcome": "deleted"}, min: 1, max: 1},
		{name: "sprite_sessions_sprites_created_total", min: 0, max: 0},
		{name: "sprite_sessions_sprites_deleted_total", min: 1, max: 1},
		// Created minus deleted as B saw them.
		{name: "sprite_sessions_sprites_live", min: -1, max: -1},
	})
	if !scB.hasPrefix("temporal_workflow_task_replay_latency_seconds") {
		t.Error("worker B: no temporal_workflow_task_replay_latency_seconds series, yet it replayed a history")
	}

	b.signal(t, syscall.SIGTERM)
	if code := b.waitExit(t, processTimeout); code != 0 {
		t.Fatalf("worker B exited %d after SIGTERM, want 0", code)
	}
	a.assertNoToken(t, s.token)
	b.assertNoToken(t, s.token)
}
