package reaper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fleet is a fake sprite listing and owner registry behind mocked
// activities. Its methods run on activity goroutines.
type fleet struct {
	mu       sync.Mutex
	sprites  []ManagedSprite
	owners   map[string]string // workflow ID -> OwnerRunning/OwnerClosed/OwnerNotFound; missing = lookup error
	deleted  map[string]int
	lookups  map[string]int
	listCall int
	// deleteErr, when set, decides a delete's outcome per sprite and attempt.
	deleteErr func(name string, attempt int) error
	// gate, when set, holds every delete until the expected number run.
	gate *gate
	// endless, when set, answers every list with an empty page and a new
	// cursor, like a misbehaving service.
	endless bool
}

func newFleet() *fleet {
	return &fleet{owners: map[string]string{}, deleted: map[string]int{}, lookups: map[string]int{}}
}

func (f *fleet) add(name, owner string, age time.Duration) {
	f.sprites = append(f.sprites, ManagedSprite{Name: name, OwnerWorkflowID: owner, CreatedAt: t0.Add(-age)})
}

func (f *fleet) listManaged(_ context.Context, in ListManagedInput) (ListManagedOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCall++
	if f.endless {
		return ListManagedOutput{Sprites: []ManagedSprite{}, NextCursor: strconv.Itoa(f.listCall)}, nil
	}
	start := 0
	if in.Cursor != "" {
		var err error
		if start, err = strconv.Atoi(in.Cursor); err != nil {
			return ListManagedOutput{}, fmt.Errorf("bad cursor %q", in.Cursor)
		}
	}
	end := min(start+in.Limit, len(f.sprites))
	out := ListManagedOutput{Sprites: slices.Clone(f.sprites[start:end]), Scanned: end - start}
	if end < len(f.sprites) {
		out.NextCursor = strconv.Itoa(end)
	}
	return out, nil
}

func (f *fleet) ownerStatus(_ context.Context, in OwnerStatusInput) (OwnerStatusOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups[in.WorkflowID]++
	st, ok := f.owners[in.WorkflowID]
	if !ok {
		return OwnerStatusOutput{}, errors.New("frontend unavailable")
	}
	return OwnerStatusOutput{Status: st}, nil
}

func (f *fleet) deleteSprite(_ context.Context, in activities.DeleteSpriteInput) (activities.DeleteSpriteOutput, error) {
	if f.gate != nil {
		if err := f.gate.enter(); err != nil {
			return activities.DeleteSpriteOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), "Test", nil)
		}
		defer f.gate.leave()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted[in.ProviderName]++
	if f.deleteErr != nil {
		if err := f.deleteErr(in.ProviderName, f.deleted[in.ProviderName]); err != nil {
			return activities.DeleteSpriteOutput{}, err
		}
	}
	return activities.DeleteSpriteOutput{Existed: true}, nil
}

// countingHandler records counter totals by name and dry_run tag.
type countingHandler struct {
	mu     *sync.Mutex
	counts map[string]int64
	tags   map[string]string
}

func newCountingHandler() *countingHandler {
	return &countingHandler{mu: &sync.Mutex{}, counts: map[string]int64{}, tags: map[string]string{}}
}

func (h *countingHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := map[string]string{}
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &countingHandler{mu: h.mu, counts: h.counts, tags: merged}
}

func (h *countingHandler) Counter(name string) client.MetricsCounter {
	key := name + "|dry_run=" + h.tags["dry_run"]
	return counterFunc(func(n int64) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.counts[key] += n
	})
}

func (h *countingHandler) Gauge(string) client.MetricsGauge {
	return client.MetricsNopHandler.Gauge("")
}
func (h *countingHandler) Timer(string) client.MetricsTimer {
	return client.MetricsNopHandler.Timer("")
}

func (h *countingHandler) get(name, dryRun string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[name+"|dry_run="+dryRun]
}

type counterFunc func(int64)

func (c counterFunc) Inc(n int64) { c(n) }

type harness struct {
	env     *testsuite.TestWorkflowEnvironment
	metrics *countingHandler
}

func newHarness(t *testing.T, f *fleet) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	m := newCountingHandler()
	suite.SetMetricsHandler(m)
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.RegisterWorkflowWithOptions(ReaperWorkflow, workflow.RegisterOptions{Name: ReaperWorkflowName})
	env.RegisterActivity(NewActivities(nil, nil, "default"))
	env.RegisterActivity(activities.New(nil, activities.Options{}))
	env.OnActivity(reaperActs.ListManaged, mockAny, mockAny).Return(f.listManaged)
	env.OnActivity(reaperActs.OwnerStatus, mockAny, mockAny).Return(f.ownerStatus)
	env.OnActivity(spriteActs.DeleteSprite, mockAny, mockAny).Return(f.deleteSprite)
	return &harness{env: env, metrics: m}
}

const mockAny = "mock.Anything"

func (h *harness) run(t *testing.T, in ReaperInput) ReaperResult {
	t.Helper()
	h.env.ExecuteWorkflow(ReaperWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("reaper workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("reaper workflow failed: %v", err)
	}
	var res ReaperResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatalf("decoding result: %v", err)
	}
	return res
}

func TestReaper_DeletesSpritesOfClosedAndMissingOwnersOnly(t *testing.T) {
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	f.owners["session/gone"] = OwnerNotFound
	f.owners["session/alive"] = OwnerRunning
	f.add("ss-closed-a", "session/closed", 10*time.Minute)
	f.add("ss-closed-b", "session/closed", 10*time.Minute)
	f.add("ss-gone-a", "session/gone", time.Hour)
	f.add("ss-alive-a", "session/alive", time.Hour)

	h := newHarness(t, f)
	res := h.run(t, ReaperInput{})

	wantDeleted := []string{"ss-closed-a", "ss-closed-b", "ss-gone-a"}
	if got := slices.Sorted(slices.Values(res.Deleted)); !slices.Equal(got, wantDeleted) {
		t.Errorf("Deleted = %v, want %v", got, wantDeleted)
	}
	if f.deleted["ss-alive-a"] != 0 {
		t.Errorf("the running session's sprite was deleted")
	}
	if res.Alive != 1 || res.Managed != 4 || len(res.Orphans) != 3 || len(res.Failed) != 0 {
		t.Errorf("result = %+v, want alive 1, managed 4, 3 orphans, no failures", res)
	}
	for _, o := range res.Orphans {
		want := OwnerClosed
		if o.OwnerWorkflowID == "session/gone" {
			want = OwnerNotFound
		}
		if o.OwnerStatus != want {
			t.Errorf("orphan %s: owner status %q, want %q", o.Name, o.OwnerStatus, want)
		}
	}
	if f.lookups["session/closed"] != 1 {
		t.Errorf("owner with two sprites looked up %d times, want once", f.lookups["session/closed"])
	}
	if got := h.metrics.get(MetricOrphansFound, "false"); got != 3 {
		t.Errorf("%s = %d, want 3", MetricOrphansFound, got)
	}
	if got := h.metrics.get(MetricOrphansDeleted, "false"); got != 3 {
		t.Errorf("%s = %d, want 3", MetricOrphansDeleted, got)
	}
}

func TestReaper_DeletesNothingForOwnerWhoseLookupFails(t *testing.T) {
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	// session/unknown has no entry: every lookup fails like a Temporal outage.
	f.add("ss-unknown-a", "session/unknown", time.Hour)
	f.add("ss-unknown-b", "session/unknown", time.Hour)
	f.add("ss-closed-a", "session/closed", time.Hour)

	h := newHarness(t, f)
	res := h.run(t, ReaperInput{})

	if f.deleted["ss-unknown-a"] != 0 || f.deleted["ss-unknown-b"] != 0 {
		t.Fatalf("sprites of an owner whose lookup failed were deleted: %v", f.deleted)
	}
	if !slices.Equal(res.Deleted, []string{"ss-closed-a"}) {
		t.Errorf("Deleted = %v, want the other owner's sprite still reaped", res.Deleted)
	}
	if len(res.LookupFailures) != 1 {
		t.Fatalf("LookupFailures = %+v, want one", res.LookupFailures)
	}
	lf := res.LookupFailures[0]
	if lf.OwnerWorkflowID != "session/unknown" || !slices.Equal(lf.Sprites, []string{"ss-unknown-a", "ss-unknown-b"}) || lf.Error == "" {
		t.Errorf("lookup failure = %+v, want owner, both sprites and the error", lf)
	}
	if f.lookups["session/unknown"] != 3 {
		t.Errorf("failing lookup attempted %d times, want 3 (the retry policy)", f.lookups["session/unknown"])
	}
	skipped := 0
	for _, s := range res.Skipped {
		if s.Reason == SkipOwnerLookupFailed {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("Skipped = %+v, want both sprites as %s", res.Skipped, SkipOwnerLookupFailed)
	}
	if got := h.metrics.get(MetricOwnerLookupFailed, "false"); got != 1 {
		t.Errorf("%s = %d, want 1", MetricOwnerLookupFailed, got)
	}
}

func TestReaper_DeletesNothingForOwnerWithAnUnrecognisedStatus(t *testing.T) {
	f := newFleet()
	// An answer this workflow does not know (a newer activity, a decoding
	// slip) must count as a failed lookup, never as a closed owner.
	f.owners["session/odd"] = ""
	f.owners["session/paused"] = "paused"
	f.add("ss-odd", "session/odd", time.Hour)
	f.add("ss-paused", "session/paused", time.Hour)

	res := newHarness(t, f).run(t, ReaperInput{})

	if len(f.deleted) != 0 || len(res.Orphans) != 0 {
		t.Fatalf("deleted %v, orphans %+v: an unrecognised owner status condemned sprites", f.deleted, res.Orphans)
	}
	if len(res.LookupFailures) != 2 {
		t.Errorf("LookupFailures = %+v, want both owners reported", res.LookupFailures)
	}
}

func TestReaper_LeavesSpritesInsideGracePeriodAlone(t *testing.T) {
	tests := []struct {
		name       string
		grace      time.Duration
		age        time.Duration
		wantDelete bool
	}{
		{"default grace, one minute old", 0, time.Minute, false},
		{"default grace, three minutes old", 0, 3 * time.Minute, true},
		{"ten minute grace, five minutes old", 10 * time.Minute, 5 * time.Minute, false},
		{"ten minute grace, eleven minutes old", 10 * time.Minute, 11 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFleet()
			f.owners["session/closed"] = OwnerClosed
			f.add("ss-a", "session/closed", tt.age)
			h := newHarness(t, f)
			res := h.run(t, ReaperInput{GracePeriod: tt.grace})
			if got := f.deleted["ss-a"] > 0; got != tt.wantDelete {
				t.Fatalf("deleted = %v, want %v (result %+v)", got, tt.wantDelete, res)
			}
			if !tt.wantDelete {
				if len(res.Skipped) != 1 || res.Skipped[0].Reason != SkipGracePeriod {
					t.Errorf("Skipped = %+v, want the sprite for %s", res.Skipped, SkipGracePeriod)
				}
				if f.lookups["session/closed"] != 0 {
					t.Errorf("a young sprite's owner was looked up")
				}
			}
		})
	}
}

func TestReaper_SkipsSpritesOfUnknownAge(t *testing.T) {
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	f.sprites = append(f.sprites, ManagedSprite{Name: "ss-noage", OwnerWorkflowID: "session/closed"})
	h := newHarness(t, f)
	res := h.run(t, ReaperInput{})
	if f.deleted["ss-noage"] != 0 {
		t.Fatal("a sprite without created_at was deleted")
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Reason != SkipUnknownAge {
		t.Errorf("Skipped = %+v, want %s", res.Skipped, SkipUnknownAge)
	}
}

func TestReaper_DryRunReportsOrphansAndDeletesNothing(t *testing.T) {
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	f.owners["session/alive"] = OwnerRunning
	f.add("ss-closed-a", "session/closed", time.Hour)
	f.add("ss-alive-a", "session/alive", time.Hour)
	h := newHarness(t, f)
	res := h.run(t, ReaperInput{DryRun: true})
	if len(f.deleted) != 0 {
		t.Fatalf("dry run deleted %v", f.deleted)
	}
	if !res.DryRun || len(res.Orphans) != 1 || res.Orphans[0].Name != "ss-closed-a" || len(res.Deleted) != 0 {
		t.Errorf("result = %+v, want the orphan reported, nothing deleted", res)
	}
	if got := h.metrics.get(MetricOrphansFound, "true"); got != 1 {
		t.Errorf("%s{dry_run=true} = %d, want 1", MetricOrphansFound, got)
	}
	if got := h.metrics.get(MetricOrphansDeleted, "true") + h.metrics.get(MetricOrphansDeleted, "false"); got != 0 {
		t.Errorf("%s = %d in a dry run", MetricOrphansDeleted, got)
	}
}

func TestReaper_RetriesRateLimitedDeleteAfterServerDelay(t *testing.T) {
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	f.add("ss-a", "session/closed", time.Hour)
	f.deleteErr = func(_ string, attempt int) error {
		if attempt == 1 {
			return temporal.NewApplicationErrorWithOptions("429", activities.ErrTypeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: 45 * time.Second})
		}
		return nil
	}
	h := newHarness(t, f)
	res := h.run(t, ReaperInput{})
	if f.deleted["ss-a"] != 2 || !slices.Equal(res.Deleted, []string{"ss-a"}) {
		t.Fatalf("attempts = %d, Deleted = %v; want a retry that succeeds", f.deleted["ss-a"], res.Deleted)
	}
	// The retry waited for the server's delay, not the 2s initial backoff.
	if elapsed := h.env.Now().Sub(t0); elapsed < 45*time.Second {
		t.Errorf("retry came after %v of workflow time, want at least the 45s retry-after", elapsed)
	}
}

func TestReaper_ReportsDeleteThatKeepsFailing(t *testing.T) {
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	f.add("ss-bad", "session/closed", time.Hour)
	f.add("ss-good", "session/closed", time.Hour)
	f.deleteErr = func(name string, _ int) error {
		if name == "ss-bad" {
			return temporal.NewNonRetryableApplicationError("refused", activities.ErrTypeUnauthorized, nil)
		}
		return nil
	}
	h := newHarness(t, f)
	res := h.run(t, ReaperInput{})
	if !slices.Equal(res.Failed, []string{"ss-bad"}) || !slices.Equal(res.Deleted, []string{"ss-good"}) {
		t.Errorf("Failed = %v, Deleted = %v", res.Failed, res.Deleted)
	}
	if got := h.metrics.get(MetricDeleteFailed, "false"); got != 1 {
		t.Errorf("%s = %d, want 1", MetricDeleteFailed, got)
	}
}

func TestReaper_PagesThroughLargeFleetAcrossContinueAsNew(t *testing.T) {
	const total = 2350
	f := newFleet()
	want := []string{}
	for i := range total {
		owner := fmt.Sprintf("session/s%04d", i/2)
		name := fmt.Sprintf("ss-%04d", i)
		f.add(name, owner, time.Hour)
		if (i/2)%3 == 0 {
			f.owners[owner] = OwnerRunning
		} else {
			f.owners[owner] = OwnerClosed
			want = append(want, name)
		}
	}

	in := ReaperInput{PageSize: 100, MaxPerRun: 500}
	runs := 0
	for {
		runs++
		if runs > 20 {
			t.Fatal("reaper never finished")
		}
		h := newHarness(t, f)
		h.env.ExecuteWorkflow(ReaperWorkflowName, in)
		err := h.env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			if can.WorkflowType.Name != ReaperWorkflowName {
				t.Fatalf("continued as %q", can.WorkflowType.Name)
			}
			var next ReaperInput
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatalf("decoding continue-as-new input: %v", err)
			}
			if next.Cursor == "" || next.Totals.Runs != runs {
				t.Fatalf("continue-as-new input %+v: want a cursor and %d runs counted", next, runs)
			}
			in = next
			continue
		}
		if err != nil {
			t.Fatalf("run %d failed: %v", runs, err)
		}
		var res ReaperResult
		if err := h.env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		if res.Totals.Scanned != total || res.Totals.Deleted != len(want) || res.Totals.Runs != runs {
			t.Errorf("totals = %+v, want %d scanned, %d deleted over %d runs", res.Totals, total, len(want), runs)
		}
		break
	}
	if runs != 5 {
		t.Errorf("runs = %d, want 5 (500 sprites per run)", runs)
	}
	for name, n := range f.deleted {
		if n != 1 {
			t.Errorf("%s deleted %d times", name, n)
		}
	}
	if len(f.deleted) != len(want) {
		t.Errorf("deleted %d sprites, want %d", len(f.deleted), len(want))
	}
	for _, name := range want {
		if f.deleted[name] != 1 {
			t.Fatalf("orphan %s not deleted", name)
		}
	}
	if f.listCall != total/100+1 {
		t.Errorf("ListManaged called %d times, want %d", f.listCall, total/100+1)
	}
}

func TestReaper_BoundsParallelDeletes(t *testing.T) {
	const orphans, parallelism = 20, 4
	f := newFleet()
	f.owners["session/closed"] = OwnerClosed
	for i := range orphans {
		f.add(fmt.Sprintf("ss-%02d", i), "session/closed", time.Hour)
	}
	g := newGate(parallelism, orphans)
	f.gate = g
	h := newHarness(t, f)
	res := h.run(t, ReaperInput{Parallelism: parallelism})
	if len(res.Deleted) != orphans {
		t.Fatalf("Deleted %d, want %d; failed %v", len(res.Deleted), orphans, res.Failed)
	}
	if g.max != parallelism {
		t.Errorf("max deletes in flight = %d, want exactly %d", g.max, parallelism)
	}
}

// gate makes every delete wait until the expected number are in flight:
// min(limit, not yet finished). It fails an activity when more than limit
// run at once, or when the expected count is not reached in time (the
// workflow did not run them in parallel).
type gate struct {
	mu               sync.Mutex
	cond             *sync.Cond
	limit, remaining int
	inflight, max    int
	expired          bool
}

func newGate(limit, total int) *gate {
	g := &gate{limit: limit, remaining: total}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight++
	g.max = max(g.max, g.inflight)
	if g.inflight > g.limit {
		return fmt.Errorf("%d deletes in flight, limit %d", g.inflight, g.limit)
	}
	g.cond.Broadcast()
	deadline := time.AfterFunc(10*time.Second, func() {
		g.mu.Lock()
		g.expired = true
		g.mu.Unlock()
		g.cond.Broadcast()
	})
	defer deadline.Stop()
	for g.inflight < min(g.limit, g.remaining) && !g.expired {
		g.cond.Wait()
	}
	if g.expired {
		return fmt.Errorf("only %d deletes in flight, want %d", g.inflight, min(g.limit, g.remaining))
	}
	return nil
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	g.remaining--
	g.cond.Broadcast()
}

func TestReaper_ContinuesAsNewWhenListingNeverEnds(t *testing.T) {
	f := newFleet()
	f.endless = true
	h := newHarness(t, f)
	h.env.ExecuteWorkflow(ReaperWorkflowName, ReaperInput{})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("err = %v, want continue-as-new", err)
	}
	if f.listCall != maxListCallsPerRun {
		t.Errorf("listed %d times in one run, want %d", f.listCall, maxListCallsPerRun)
	}
}
