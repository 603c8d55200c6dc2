package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestContinueAsNew_HappensUnderSteadyOverlappingLoad drives a session with
// several callers at once, so that it almost never has no update in flight:
// the session must still continue as new (it stops admitting work, lets the
// in-flight updates finish, then moves on) instead of growing towards the
// history limit, and the starter must hide the short refusals of the
// draining run, so every call succeeds.
func TestContinueAsNew_HappensUnderSteadyOverlappingLoad(t *testing.T) {
	t.Parallel()
	env := harness.New(t, harness.WithDynamicConfig("limit.historyCount.suggestContinueAsNew", 40))
	ctx := testContext(t, 3*time.Minute)
	s := env.Starter.Session("busy")

	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})).must(t, "create box")
	call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "data.txt", Content: "steady"})).must(t, "write")
	runs0 := call(s.Describe(ctx)).must(t, "Describe").Runs

	const callers, callsEach = 4, 50
	var (
		inflight  atomic.Int64 // calls of the callers under way
		maxFlight atomic.Int64
		idle      atomic.Int64 // times inflight fell back to zero
		loadDone  atomic.Bool
		wg        sync.WaitGroup
		errMu     sync.Mutex
		errs      []error
		okCalls   atomic.Int64
	)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range callsEach {
				n := inflight.Add(1)
				for m := maxFlight.Load(); n > m && !maxFlight.CompareAndSwap(m, n); m = maxFlight.Load() {
				}
				r, err := s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "data.txt"})
				if inflight.Add(-1) == 0 {
					idle.Add(1)
				}
				if err == nil && r.Content != "steady" {
					err = fmt.Errorf("read %q", r.Content)
				}
				if err != nil {
					errMu.Lock()
					errs = append(errs, fmt.Errorf("caller %d call %d: %w", c, i, err))
					errMu.Unlock()
					return
				}
				okCalls.Add(1)
			}
		}()
	}
	go func() {
		wg.Wait()
		loadDone.Store(true)
	}()

	// Watch the run count while the load goes on. A new run counts as
	// "under load" only if the callers never all stopped between the
	// watcher's previous look (before which the run had not changed) and
	// this one (after which it had).
	prevRuns, prevIdle := runs0, idle.Load()
	underLoad, seenDuringLoad := 0, runs0
	for !loadDone.Load() {
		idleBefore := idle.Load()
		d, err := s.Describe(ctx)
		if err != nil {
			t.Fatalf("Describe during the load: %v", err)
		}
		if loadDone.Load() {
			break
		}
		if d.Runs > prevRuns && idle.Load() == prevIdle && inflight.Load() > 0 {
			underLoad++
		}
		seenDuringLoad = max(seenDuringLoad, d.Runs)
		prevRuns, prevIdle = d.Runs, idleBefore
		select {
		case <-ctx.Done():
			t.Fatalf("load did not finish: %v", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	wg.Wait()

	for _, err := range errs {
		t.Error(err)
	}
	if got := okCalls.Load(); got != callers*callsEach {
		t.Fatalf("%d of %d calls succeeded", got, callers*callsEach)
	}
	t.Logf("%d calls, at most %d at once, callers all idle %d time(s); runs %d -> %d during the load, %d new run(s) seen with no idle moment",
		okCalls.Load(), maxFlight.Load(), idle.Load(), runs0, seenDuringLoad, underLoad)
	if maxFlight.Load() < 2 {
		t.Errorf("calls never overlapped (at most %d at once)", maxFlight.Load())
	}
	if seenDuringLoad <= runs0 {
		t.Fatalf("the session never continued as new during %d overlapping calls (runs %d)", callers*callsEach, seenDuringLoad)
	}
	if underLoad == 0 {
		t.Errorf("every continue-as-new seen happened while the callers were all idle: none under overlapping load")
	}

	d := call(s.Describe(ctx)).must(t, "Describe")
	if len(d.Sprites) != 1 || d.Sprites[0].SpriteName != "box" || d.State != workflows.StateActive {
		t.Errorf("state after the load: %+v", d)
	}
	end := call(s.End(ctx, workflows.EndSessionRequest{})).must(t, "End")
	if len(end.Deleted) != 1 || end.Deleted[0] != "box" {
		t.Errorf("End deleted %v, want box", end.Deleted)
	}
	res := call(s.Wait(ctx)).must(t, "Wait")
	if res.Reason != workflows.EndReasonEnded {
		t.Errorf("session result = %+v", res)
	}
	env.AssertNoSprites(t)
}
