// Package reaper deletes the sprites whose owner session died without
// running its cleanup (terminated, timed out, history limit). A Temporal
// Schedule runs ReaperWorkflow every interval; it lists the sprites carrying
// our owner label, asks Temporal whether each owner workflow still runs, and
// deletes (confirmed gone) the sprites of owners that are closed or missing.
package reaper

import "time"

// ReaperWorkflowName is the registered name of ReaperWorkflow.
const ReaperWorkflowName = "ReaperWorkflow"

// Defaults of ReaperInput and ScheduleConfig.
const (
	// DefaultGracePeriod leaves young sprites alone, so a session that is
	// creating a sprite is never raced.
	DefaultGracePeriod = 2 * time.Minute
	// DefaultInterval is how often the schedule runs the reaper.
	DefaultInterval = time.Minute
	// DefaultPageSize is how many sprites one ListManaged call examines.
	DefaultPageSize = 200
	// DefaultMaxPerRun is how many sprites a run examines before it
	// continues as new, which keeps each run's history small.
	DefaultMaxPerRun = 1000
	// DefaultParallelism bounds concurrent owner lookups and deletes.
	DefaultParallelism = 8
	// DefaultScheduleID names the schedule EnsureSchedule maintains.
	DefaultScheduleID = "sprite-sessions-reaper"
)

// Owner states OwnerStatus reports.
const (
	OwnerRunning  = "running"
	OwnerClosed   = "closed"
	OwnerNotFound = "not_found"
)

// Why a sprite was left alone although its owner may be gone.
const (
	SkipGracePeriod       = "grace_period"
	SkipUnknownAge        = "unknown_age"
	SkipOwnerLookupFailed = "owner_lookup_failed"
)

// Counters the reaper emits through workflow.GetMetricsHandler, which does
// not record during replay. Each always carries the tag dry_run ("true" or
// "false") on top of the SDK's own tags; a Prometheus handler adds _total.
const (
	// MetricOrphansFound counts sprites whose owner is closed or missing,
	// past the grace period.
	MetricOrphansFound = "sprite_sessions_reaper_orphans_found"
	// MetricOrphansDeleted counts orphans deleted and confirmed gone.
	MetricOrphansDeleted = "sprite_sessions_reaper_orphans_deleted"
	// MetricDeleteFailed counts orphans whose delete failed after retries.
	MetricDeleteFailed = "sprite_sessions_reaper_delete_failed"
	// MetricOwnerLookupFailed counts owners Temporal could not describe.
	MetricOwnerLookupFailed = "sprite_sessions_reaper_owner_lookup_failed"
)

// ReaperInput configures one reaper run. Zero fields take the defaults.
type ReaperInput struct {
	// Namespace is the namespace whose sessions' sprites this reaper looks
	// after; empty means the reaper workflow's own namespace. Sprites owned
	// by other namespaces are never touched.
	Namespace string `json:"namespace,omitempty"`
	// GracePeriod: sprites younger than this (by their created_at against
	// workflow time) are left alone.
	GracePeriod time.Duration `json:"grace_period,omitempty"`
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// PageSize is how many sprites one ListManaged call examines.
	PageSize int `json:"page_size,omitempty"`
	// MaxPerRun: after examining this many sprites a run continues as new.
	MaxPerRun int `json:"max_per_run,omitempty"`
	// Parallelism bounds concurrent owner lookups and deletes.
	Parallelism int `json:"parallelism,omitempty"`
	// Cursor resumes the listing where the previous run stopped; set by
	// continue-as-new, empty for a scheduled start.
	Cursor string `json:"cursor,omitempty"`
	// Totals carries the counts of the earlier runs of this chain.
	Totals Totals `json:"totals,omitzero"`
}

func (in ReaperInput) withDefaults(namespace string) ReaperInput {
	if in.Namespace == "" {
		in.Namespace = namespace
	}
	if in.GracePeriod <= 0 {
		in.GracePeriod = DefaultGracePeriod
	}
	if in.PageSize <= 0 {
		in.PageSize = DefaultPageSize
	}
	if in.MaxPerRun <= 0 {
		in.MaxPerRun = DefaultMaxPerRun
	}
	if in.Parallelism <= 0 {
		in.Parallelism = DefaultParallelism
	}
	return in
}

// ReaperResult is what a run found and did. The lists cover this run; Totals
// covers the whole continue-as-new chain.
type ReaperResult struct {
	DryRun bool `json:"dry_run,omitempty"`
	// Scanned counts every sprite listed, labelled or not.
	Scanned int `json:"scanned"`
	// Managed counts the sprites carrying our owner label in the namespace.
	Managed int `json:"managed"`
	// Alive counts managed sprites whose owner is running.
	Alive int `json:"alive"`
	// Orphans are sprites past the grace period whose owner is closed or
	// missing: deleted unless DryRun.
	Orphans []Orphan `json:"orphans,omitempty"`
	// Deleted are the provider names of orphans confirmed gone.
	Deleted []string `json:"deleted,omitempty"`
	// Failed are the provider names of orphans whose delete failed.
	Failed []string `json:"failed,omitempty"`
	// Skipped are sprites left alone although their owner might be gone.
	Skipped []Skipped `json:"skipped,omitempty"`
	// LookupFailures are owners Temporal could not describe; none of their
	// sprites were deleted.
	LookupFailures []LookupFailure `json:"lookup_failures,omitempty"`
	Totals         Totals          `json:"totals"`
}

// Orphan is a sprite whose owner workflow is closed or does not exist.
type Orphan struct {
	Name            string    `json:"name"`
	OwnerWorkflowID string    `json:"owner_workflow_id"`
	OwnerStatus     string    `json:"owner_status"` // OwnerClosed or OwnerNotFound
	CreatedAt       time.Time `json:"created_at"`
}

// Skipped is a sprite the reaper left alone, and why (Skip*).
type Skipped struct {
	Name            string `json:"name"`
	OwnerWorkflowID string `json:"owner_workflow_id"`
	Reason          string `json:"reason"`
}

// LookupFailure is an owner whose state Temporal could not tell.
type LookupFailure struct {
	OwnerWorkflowID string   `json:"owner_workflow_id"`
	Sprites         []string `json:"sprites"`
	Error           string   `json:"error"`
}

// Totals are counts over a continue-as-new chain.
type Totals struct {
	Runs           int `json:"runs"`
	Scanned        int `json:"scanned"`
	Managed        int `json:"managed"`
	Orphans        int `json:"orphans"`
	Deleted        int `json:"deleted"`
	Failed         int `json:"failed"`
	Skipped        int `json:"skipped"`
	LookupFailures int `json:"lookup_failures"`
}

// ListManagedInput asks for the next chunk of the sprite listing.
type ListManagedInput struct {
	Namespace string `json:"namespace"`
	// Cursor is the continuation token to start from; empty starts at the
	// beginning.
	Cursor string `json:"cursor,omitempty"`
	// Limit: the call returns once it has examined at least this many
	// sprites (whole API pages), or the listing ends.
	Limit int `json:"limit"`
}

// ListManagedOutput is one chunk of the listing, filtered to our sprites.
type ListManagedOutput struct {
	Sprites []ManagedSprite `json:"sprites"`
	// Scanned counts every sprite listed in this chunk.
	Scanned int `json:"scanned"`
	// NextCursor continues the listing; empty when it is complete.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ManagedSprite is a sprite carrying our owner label in the namespace.
type ManagedSprite struct {
	Name            string `json:"name"`
	OwnerWorkflowID string `json:"owner_workflow_id"`
	// CreatedAt is zero when the API did not say.
	CreatedAt time.Time `json:"created_at"`
}

// OwnerStatusInput names an owner workflow.
type OwnerStatusInput struct {
	Namespace  string `json:"namespace"`
	WorkflowID string `json:"workflow_id"`
}

// OwnerStatusOutput says whether the owner still runs.
type OwnerStatusOutput struct {
	// Status is OwnerRunning, OwnerClosed or OwnerNotFound.
	Status string `json:"status"`
	// CloseStatus is Temporal's status of a closed owner, e.g. "Terminated".
	CloseStatus string `json:"close_status,omitempty"`
}
