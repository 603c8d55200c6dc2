package reaper

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// apiPageSize is how many sprites one list request asks for (the service
// documents 50 as its cap).
const apiPageSize = 50

// maxPagesPerCall bounds one ListManaged call even when the service keeps
// answering empty pages with fresh tokens.
const maxPagesPerCall = 100

// Activities are the reaper's own activities. Deletion is not here: the
// workflow runs activities.Activities.DeleteSprite, the one delete that
// confirms a sprite gone.
type Activities struct {
	sprites   *sprites.Client
	temporal  client.Client
	namespace string
}

// NewActivities returns the reaper's activities. namespace must be the
// namespace tc is connected to: owner lookups for any other namespace are
// refused, since a lookup in the wrong namespace would find nothing and
// condemn live sprites.
func NewActivities(sc *sprites.Client, tc client.Client, namespace string) *Activities {
	return &Activities{sprites: sc, temporal: tc, namespace: namespace}
}

// ListManaged lists sprites from in.Cursor, whole API pages at a time, until
// it has examined in.Limit sprites or the listing ends, and returns those
// carrying our owner label for in.Namespace. A page with a null or empty
// continuation token ends the listing whatever has_more says.
func (a *Activities) ListManaged(ctx context.Context, in ListManagedInput) (ListManagedOutput, error) {
	if in.Namespace != a.namespace {
		return ListManagedOutput{}, wrongNamespace(in.Namespace, a.namespace)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	out := ListManagedOutput{Sprites: []ManagedSprite{}}
	cursor := in.Cursor
	for pages := 1; ; pages++ {
		page, err := a.sprites.ListSprites(ctx, sprites.ListOptions{MaxResults: min(limit, apiPageSize), ContinuationToken: cursor})
		if err != nil {
			return ListManagedOutput{}, activities.Classify("list sprites", err)
		}
		for _, s := range page.Sprites {
			out.Scanned++
			ns, owner, ok := workflows.ParseOwner(s.Labels)
			if !ok || ns != in.Namespace {
				continue
			}
			ms := ManagedSprite{Name: s.Name, OwnerWorkflowID: owner, CreatedAt: s.CreatedAt}
			if ms.CreatedAt.IsZero() {
				// A slim list entry: the sprite itself says when it was made.
				full, err := a.sprites.GetSprite(ctx, s.Name)
				if sprites.IsNotFound(err) {
					continue // gone meanwhile
				}
				if err == nil {
					ms.CreatedAt = full.CreatedAt
				}
			}
			out.Sprites = append(out.Sprites, ms)
		}
		next := page.NextToken()
		activity.RecordHeartbeat(ctx, next)
		if next == "" || next == cursor {
			// A repeated token would loop forever; the next scheduled run
			// starts again from the beginning.
			if next != "" {
				activity.GetLogger(ctx).Warn("sprites listing repeated its continuation token; stopping this pass")
			}
			return out, nil
		}
		cursor = next
		if out.Scanned >= limit || pages >= maxPagesPerCall {
			out.NextCursor = cursor
			return out, nil
		}
	}
}

// OwnerStatus asks Temporal whether the owner workflow's current run is
// still open (running or paused). A workflow Temporal does not know is
// OwnerNotFound; a status that does not say closed, and any other failure,
// is an error, and the reaper then keeps the owner's sprites.
func (a *Activities) OwnerStatus(ctx context.Context, in OwnerStatusInput) (OwnerStatusOutput, error) {
	if in.Namespace != a.namespace {
		return OwnerStatusOutput{}, wrongNamespace(in.Namespace, a.namespace)
	}
	resp, err := a.temporal.DescribeWorkflowExecution(ctx, in.WorkflowID, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return OwnerStatusOutput{Status: OwnerNotFound}, nil
	case err != nil:
		return OwnerStatusOutput{}, fmt.Errorf("describing owner workflow %q: %w", in.WorkflowID, err)
	}
	switch st := resp.GetWorkflowExecutionInfo().GetStatus(); st {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
		// A paused workflow is open: an operator will resume it, and its
		// sprites with it.
		enums.WORKFLOW_EXECUTION_STATUS_PAUSED:
		return OwnerStatusOutput{Status: OwnerRunning}, nil
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		enums.WORKFLOW_EXECUTION_STATUS_FAILED,
		enums.WORKFLOW_EXECUTION_STATUS_CANCELED,
		enums.WORKFLOW_EXECUTION_STATUS_TERMINATED,
		enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return OwnerStatusOutput{Status: OwnerClosed, CloseStatus: st.String()}, nil
	default:
		// No status, a status newer than this code, or a current run that
		// says it continued as new: none of them can condemn a sprite.
		return OwnerStatusOutput{}, fmt.Errorf("describing owner workflow %q: cannot tell from status %v whether it is closed", in.WorkflowID, st)
	}
}

func wrongNamespace(asked, have string) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("reaper activities serve namespace %q, asked about %q", have, asked),
		activities.ErrTypeInvalidArgument, nil)
}
