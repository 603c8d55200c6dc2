package activities

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// execResult is what ExecuteActivity answered.
type execResult struct {
	val converter.EncodedValue
	err error
}

// last returns the latest heartbeat the environment recorded.
func (h *heartbeats) last() (ExecHeartbeat, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) == 0 {
		return ExecHeartbeat{}, false
	}
	return h.seen[len(h.seen)-1], true
}

func TestExec_WorkerStopHandsTheNamedSessionOverWithoutKillingIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		// heartbeat sets the heartbeat details of an earlier attempt.
		heartbeat *ExecHeartbeat
	}{
		{name: "started by this attempt"},
		{name: "attached from the heartbeat", heartbeat: &ExecHeartbeat{SessionID: 41, StartedAt: time.Now().Add(-time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			running := make(chan struct{}, 1)
			closed := make(chan struct{}, 1)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			// The command runs until the test ends: only the stop can end
			// the attempt. The socket's end is reported, so that the test
			// sees the attempt let go of it.
			script := func(s *execSocket) {
				if s.id == 0 {
					s.info(41)
				} else {
					s.info(s.id)
				}
				s.out(sprites.StreamStdout, "working\n")
				running <- struct{}{}
				// The server's request context outlives a hijacked socket:
				// ping until the pings fail, as they do once it is closed.
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-release:
						return
					case <-tick.C:
					}
					pctx, cancel := context.WithTimeout(s.ctx, 200*time.Millisecond)
					err := s.conn.Ping(pctx)
					cancel()
					if err != nil {
						closed <- struct{}{}
						return
					}
				}
			}
			f.exec.onStart, f.exec.onAttach = script, script
			acts := New(f.client(), Options{HeartbeatInterval: time.Hour})
			env := newActivityEnv(t, acts)
			stop := make(chan struct{})
			env.SetWorkerStopChannel(stop)
			if tc.heartbeat != nil {
				env.SetHeartbeatDetails(*tc.heartbeat)
			}
			hbs := recordHeartbeats(env)

			results := make(chan execResult, 1)
			go func() {
				val, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sleep", "infinity"}})
				results <- execResult{val, err}
			}()
			waitFor(t, running, "the command to run")
			waitFor(t, hbs.ch, "the heartbeat that names the session")
			close(stop)
			r := waitFor(t, results, "Exec to return after the worker stop")

			appError(t, r.err, ErrTypeWorkerStopping, true)
			if kills := f.exec.killCalls(); len(kills) != 0 {
				t.Errorf("kills = %+v, want the command left running for the next worker", kills)
			}
			hb, ok := hbs.last()
			if !ok || hb.SessionID != 41 || hb.StartedAt.IsZero() {
				t.Errorf("latest heartbeat = %+v (recorded %v), want session 41 and its start time", hb, ok)
			}
			if tc.heartbeat != nil && !hb.StartedAt.Equal(tc.heartbeat.StartedAt) {
				t.Errorf("heartbeat StartedAt = %v, want the first attempt's %v", hb.StartedAt, tc.heartbeat.StartedAt)
			}
			waitFor(t, closed, "the attempt to close its socket")
			starts, attaches, _ := f.exec.counts()
			if tc.heartbeat == nil && (starts != 1 || attaches != 0) || tc.heartbeat != nil && (starts != 0 || attaches != 1) {
				t.Errorf("starts = %d attaches = %d, want the command run once", starts, attaches)
			}
		})
	}
}

func TestExec_WorkerStopBeforeTheSessionIsNamedDoesNotReturnEarly(t *testing.T) {
	// The worker is already stopping when the attempt starts, so it sees the
	// stop before any session is named. A retry then would start the command
	// again: the attempt must wait.
	t.Run("the command finishes: its answer", func(t *testing.T) {
		f := newFakeAPI(t)
		f.exec.onStart = func(s *execSocket) {
			s.out(sprites.StreamStdout, "done\n")
			s.exit(0)
		}
		acts := New(f.client(), Options{})
		env := newActivityEnv(t, acts)
		stop := make(chan struct{})
		close(stop)
		env.SetWorkerStopChannel(stop)
		out := execOutput(t, env, acts, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"echo", "done"}})
		if out.ExitCode != 0 || out.Stdout != "done\n" {
			t.Errorf("output = %+v, want the command's answer", out)
		}
		if starts, _, kills := f.exec.counts(); starts != 1 || kills != 0 {
			t.Errorf("starts = %d kills = %d, want one start and no kill", starts, kills)
		}
	})
	t.Run("the session is named later: then handed over", func(t *testing.T) {
		f := newFakeAPI(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		f.exec.onStart = func(s *execSocket) {
			s.info(52)
			select {
			case <-release:
			case <-s.ctx.Done():
			}
		}
		acts := New(f.client(), Options{HeartbeatInterval: time.Hour})
		env := newActivityEnv(t, acts)
		stop := make(chan struct{})
		close(stop)
		env.SetWorkerStopChannel(stop)
		hbs := recordHeartbeats(env)
		_, err := env.ExecuteActivity(acts.Exec, ExecInput{ProviderName: "ss-abc-main", Argv: []string{"sleep", "infinity"}})
		appError(t, err, ErrTypeWorkerStopping, true)
		if hb, ok := hbs.last(); !ok || hb.SessionID != 52 {
			t.Errorf("latest heartbeat = %+v (recorded %v), want session 52", hb, ok)
		}
		if starts, _, kills := f.exec.counts(); starts != 1 || kills != 0 {
			t.Errorf("starts = %d kills = %d, want one start and no kill", starts, kills)
		}
	})
}
