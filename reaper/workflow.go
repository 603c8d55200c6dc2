package reaper

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// Activity options. Deletes retry inside a budget long enough to ride out
// the Sprites rate limit: a 429 carries NextRetryDelay, which Temporal
// honours over the backoff. Owner lookups get few attempts: an owner that
// cannot be described is reported, and the next scheduled run asks again.
func listOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: []string{activities.ErrTypeUnauthorized, activities.ErrTypeInvalidArgument},
		},
	}
}

func ownerOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidArgument},
		},
	}
}

func deleteOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: []string{activities.ErrTypeUnauthorized, activities.ErrTypeInvalidArgument},
		},
	}
}

// maxListCallsPerRun bounds the ListManaged calls of one run.
const maxListCallsPerRun = 100

// Activity references: methods on nil pointers name the registered
// activities without needing an instance in workflow code.
var (
	reaperActs *Activities
	spriteActs *activities.Activities
)

// ReaperWorkflow lists the sprites carrying our owner label, page by page,
// and deletes those whose owner workflow is closed or does not exist and
// that are older than the grace period. An owner Temporal cannot describe
// keeps its sprites (reported in LookupFailures). After MaxPerRun sprites,
// or when the server suggests it, the run continues as new from its cursor.
func ReaperWorkflow(ctx workflow.Context, in ReaperInput) (ReaperResult, error) {
	in = in.withDefaults(workflow.GetInfo(ctx).Namespace)
	r := &run{in: in, result: ReaperResult{DryRun: in.DryRun, Totals: in.Totals}}
	r.result.Totals.Runs++
	return r.loop(ctx)
}

// run is one reaper run's state.
type run struct {
	in     ReaperInput
	result ReaperResult
}

func (r *run) loop(ctx workflow.Context) (ReaperResult, error) {
	logger := workflow.GetLogger(ctx)
	listCtx := workflow.WithActivityOptions(ctx, listOptions())
	cursor := r.in.Cursor
	examined, calls := 0, 0
	for {
		calls++
		var page ListManagedOutput
		err := workflow.ExecuteActivity(listCtx, reaperActs.ListManaged, ListManagedInput{
			Namespace: r.in.Namespace, Cursor: cursor, Limit: r.in.PageSize,
		}).Get(ctx, &page)
		if err != nil {
			return r.result, fmt.Errorf("listing sprites: %w", err)
		}
		r.result.Scanned += page.Scanned
		r.result.Totals.Scanned += page.Scanned
		r.processPage(ctx, page.Sprites)

		examined += page.Scanned
		cursor = page.NextCursor
		if cursor == "" {
			logger.Info("reaper run finished", "scanned", r.result.Scanned, "managed", r.result.Managed,
				"orphans", len(r.result.Orphans), "deleted", len(r.result.Deleted), "failed", len(r.result.Failed),
				"dry_run", r.in.DryRun)
			return r.result, nil
		}
		// Calls are counted too: a listing of empty pages examines nothing
		// but still grows the history.
		if examined >= r.in.MaxPerRun || calls >= maxListCallsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			next := r.in
			next.Cursor = cursor
			next.Totals = r.result.Totals
			logger.Info("reaper continuing as new", "examined", examined, "runs", next.Totals.Runs)
			return ReaperResult{}, workflow.NewContinueAsNewError(ctx, ReaperWorkflowName, next)
		}
	}
}

// processPage sorts one page's sprites into young, alive, orphaned and
// unknown, and deletes the orphans (unless dry run).
func (r *run) processPage(ctx workflow.Context, page []ManagedSprite) {
	r.result.Managed += len(page)
	r.result.Totals.Managed += len(page)
	now := workflow.Now(ctx)

	byOwner := map[string][]ManagedSprite{}
	for _, s := range page {
		switch {
		case s.CreatedAt.IsZero():
			r.skip(s, SkipUnknownAge)
		case now.Sub(s.CreatedAt) < r.in.GracePeriod:
			r.skip(s, SkipGracePeriod)
		default:
			byOwner[s.OwnerWorkflowID] = append(byOwner[s.OwnerWorkflowID], s)
		}
	}
	if len(byOwner) == 0 {
		return
	}

	owners := workflow.DeterministicKeys(byOwner)
	statuses := r.lookupOwners(ctx, owners)
	var orphans []Orphan
	for _, id := range owners {
		st := statuses[id]
		switch {
		case st.err != nil:
			r.lookupFailed(ctx, id, byOwner[id], st.err)
		case st.out.Status == OwnerRunning:
			r.result.Alive += len(byOwner[id])
		case st.out.Status != OwnerClosed && st.out.Status != OwnerNotFound:
			// Only an owner known to be gone condemns its sprites.
			r.lookupFailed(ctx, id, byOwner[id], fmt.Errorf("owner status %q is neither running nor closed", st.out.Status))
		default:
			for _, s := range byOwner[id] {
				orphans = append(orphans, Orphan{
					Name: s.Name, OwnerWorkflowID: id, OwnerStatus: st.out.Status, CreatedAt: s.CreatedAt,
				})
			}
		}
	}
	r.result.Orphans = append(r.result.Orphans, orphans...)
	r.result.Totals.Orphans += len(orphans)
	r.count(ctx, MetricOrphansFound, len(orphans))
	if r.in.DryRun || len(orphans) == 0 {
		return
	}
	r.deleteOrphans(ctx, orphans)
}

// lookupFailed keeps the sprites of an owner whose state is unknown and
// reports them.
func (r *run) lookupFailed(ctx workflow.Context, owner string, sprites []ManagedSprite, err error) {
	names := make([]string, 0, len(sprites))
	for _, s := range sprites {
		names = append(names, s.Name)
		r.skip(s, SkipOwnerLookupFailed)
	}
	r.result.LookupFailures = append(r.result.LookupFailures, LookupFailure{
		OwnerWorkflowID: owner, Sprites: names, Error: err.Error(),
	})
	r.result.Totals.LookupFailures++
	r.count(ctx, MetricOwnerLookupFailed, 1)
}

type ownerResult struct {
	out OwnerStatusOutput
	err error
}

func (r *run) lookupOwners(ctx workflow.Context, owners []string) map[string]ownerResult {
	octx := workflow.WithActivityOptions(ctx, ownerOptions())
	res := make(map[string]ownerResult, len(owners))
	bounded(ctx, r.in.Parallelism, len(owners), func(i int) workflow.Future {
		return workflow.ExecuteActivity(octx, reaperActs.OwnerStatus, OwnerStatusInput{
			Namespace: r.in.Namespace, WorkflowID: owners[i],
		})
	}, func(i int, f workflow.Future) {
		var out OwnerStatusOutput
		err := f.Get(ctx, &out)
		res[owners[i]] = ownerResult{out: out, err: err}
	})
	return res
}

func (r *run) deleteOrphans(ctx workflow.Context, orphans []Orphan) {
	dctx := workflow.WithActivityOptions(ctx, deleteOptions())
	failed := make([]bool, len(orphans))
	errs := make([]error, len(orphans))
	bounded(ctx, r.in.Parallelism, len(orphans), func(i int) workflow.Future {
		return workflow.ExecuteActivity(dctx, spriteActs.DeleteSprite, activities.DeleteSpriteInput{
			ProviderName: orphans[i].Name,
		})
	}, func(i int, f workflow.Future) {
		errs[i] = f.Get(ctx, nil)
		failed[i] = errs[i] != nil
	})
	logger := workflow.GetLogger(ctx)
	deleted := 0
	for i, o := range orphans {
		if failed[i] {
			logger.Warn("reaper could not delete orphan", "sprite", o.Name, "owner", o.OwnerWorkflowID, "error", errs[i])
			r.result.Failed = append(r.result.Failed, o.Name)
			continue
		}
		deleted++
		r.result.Deleted = append(r.result.Deleted, o.Name)
	}
	r.result.Totals.Deleted += deleted
	r.result.Totals.Failed += len(orphans) - deleted
	r.count(ctx, MetricOrphansDeleted, deleted)
	r.count(ctx, MetricDeleteFailed, len(orphans)-deleted)
}

func (r *run) skip(s ManagedSprite, reason string) {
	r.result.Skipped = append(r.result.Skipped, Skipped{Name: s.Name, OwnerWorkflowID: s.OwnerWorkflowID, Reason: reason})
	r.result.Totals.Skipped++
}

// count adds n to a reaper counter. The workflow's metrics handler records
// nothing while replaying, so a replayed run does not count twice.
func (r *run) count(ctx workflow.Context, name string, n int) {
	if n <= 0 {
		return
	}
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"dry_run": strconv.FormatBool(r.in.DryRun)}).
		Counter(name).Inc(int64(n))
}

// bounded starts count activities with at most n in flight, calling done for
// each as it completes (in completion order, on the workflow goroutine).
func bounded(ctx workflow.Context, n, count int, start func(i int) workflow.Future, done func(i int, f workflow.Future)) {
	sel := workflow.NewSelector(ctx)
	next, pending := 0, 0
	for next < count || pending > 0 {
		for pending < n && next < count {
			i := next
			sel.AddFuture(start(i), func(f workflow.Future) {
				done(i, f)
				pending--
			})
			next++
			pending++
		}
		sel.Select(ctx)
	}
}
