package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// acts names the activities; only its method values are used, to tell
// ExecuteActivity which activity to schedule.
var acts *activities.Activities

// session is the state of one run of SessionWorkflow: the carried-over
// SessionState plus what lives only while the run does (locks, in-flight
// handlers, the end of the session).
type session struct {
	id        string // session ID
	namespace string
	wfID      string
	cfg       SessionConfig // resolved: no zero fields
	st        SessionState
	logger    log.Logger

	locks    map[string]workflow.Mutex // per logical sprite name
	creating map[string]bool           // creates whose outcome is not known yet
	recent   map[string]bool           // index of st.RecentUpdateIDs

	cancels     map[int]workflow.CancelFunc // in-flight handlers, cancelled when the session ends
	nextHandler int
	inflight    int // handlers of sprite operations still running

	ending     bool   // no new operations: validators reject
	draining   bool   // continue-as-new is due: validators ask callers to retry
	endReason  string // set by EndSession
	expired    string // EndReasonIdle or EndReasonLifetime, set by the watchers
	continuing bool   // the run ends in continue-as-new: keep the sprites
	cleaned    bool   // cleanup finished; result holds its outcome
	result     SessionResult
}

// SessionWorkflow is one agent session: it owns the sprites it creates,
// carries out every operation on them as a Workflow Update, and deletes all
// of them when it ends, whatever ends it (EndSession, idle timeout, maximum
// lifetime, cancellation, failure). A cancelled session completes with
// Reason "cancelled" rather than as cancelled, so its result still lists
// what cleanup deleted.
func SessionWorkflow(ctx workflow.Context, in SessionInput) (SessionResult, error) {
	return runSession(ctx, in, SessionConfig{})
}

// NewSessionWorkflow returns SessionWorkflow with a worker's defaults for
// the limits a session's own SessionConfig leaves zero (zero defaults take
// the built-in ones). A session resolves its limits once, when its first
// run starts, and records them in its history: a worker started later with
// other defaults neither changes a running session nor breaks its replay.
// Register the result under SessionWorkflowName.
func NewSessionWorkflow(defaults SessionConfig) func(workflow.Context, SessionInput) (SessionResult, error) {
	return func(ctx workflow.Context, in SessionInput) (SessionResult, error) {
		return runSession(ctx, in, defaults)
	}
}

func runSession(ctx workflow.Context, in SessionInput, defaults SessionConfig) (result SessionResult, err error) {
	s, err := newSession(ctx, in, defaults)
	if err != nil {
		return SessionResult{SessionID: in.SessionID, Reason: EndReasonFailed}, err
	}
	reason := EndReasonFailed
	// Deferred so that it also runs when the code below returns an error or
	// panics; it runs on a disconnected context, so a cancelled session still
	// deletes its sprites.
	defer func() {
		if s.continuing {
			return
		}
		result = s.cleanup(ctx, reason)
	}()
	if err := s.setup(ctx); err != nil {
		return SessionResult{}, err
	}
	reason, err = s.run(ctx)
	return SessionResult{}, err
}

func newSession(ctx workflow.Context, in SessionInput, defaults SessionConfig) (*session, error) {
	info := workflow.GetInfo(ctx)
	id := in.SessionID
	if id == "" {
		id = strings.TrimPrefix(info.WorkflowExecution.ID, workflowIDPrefix)
	}
	if err := ValidateSessionID(id); err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	cfg, err := resolveConfig(ctx, in, defaults)
	if err != nil {
		return nil, err
	}
	s := &session{
		id:        id,
		namespace: info.Namespace,
		wfID:      info.WorkflowExecution.ID,
		cfg:       cfg,
		locks:     map[string]workflow.Mutex{},
		creating:  map[string]bool{},
		recent:    map[string]bool{},
		cancels:   map[int]workflow.CancelFunc{},
	}
	s.logger = log.With(workflow.GetLogger(ctx), "SessionID", id)
	if in.State != nil {
		s.st = *in.State
	} else {
		now := workflow.Now(ctx)
		s.st.StartedAt = now
		s.st.LastActivityAt = now
		count(ctx, metricSessionStarted, nil)
	}
	if s.st.Sprites == nil {
		s.st.Sprites = map[string]*SpriteState{}
	}
	if s.st.LastActivityAt.IsZero() {
		s.st.LastActivityAt = workflow.Now(ctx)
	}
	for _, id := range s.st.RecentUpdateIDs {
		s.recent[id] = true
	}
	return s, nil
}

// setup registers every update handler and query before anything blocks, so
// an Update-With-Start's update finds its handler in the first task.
func (s *session) setup(ctx workflow.Context) error {
	err := errors.Join(
		register(ctx, s, UpdateCreateSprite, s.validateCreate, s.createSprite),
		register(ctx, s, UpdateExec, s.validateExec, s.exec),
		register(ctx, s, UpdateReadFile, s.validateReadFile, s.readFile),
		register(ctx, s, UpdateWriteFile, s.validateWriteFile, s.writeFile),
		register(ctx, s, UpdateDeleteSprite, s.validateDelete, s.deleteSprite),
		register(ctx, s, UpdateCheckpoint, s.validateCheckpoint, s.checkpoint),
		register(ctx, s, UpdateRestoreCheckpoint, s.validateRestore, s.restoreCheckpoint),
		register(ctx, s, UpdateServiceURL, s.validateServiceURL, s.serviceURL),
		register(ctx, s, UpdateRunRiskyStep, s.validateRiskyStep, s.runRiskyStep),
		s.registerEndSession(ctx),
		workflow.SetQueryHandler(ctx, QueryListSprites, s.listSprites),
		workflow.SetQueryHandler(ctx, QueryDescribe, s.describe),
	)
	if err != nil {
		return fmt.Errorf("register session handlers: %w", err)
	}
	return nil
}

// run is the main loop: it waits for the end of the session or for the
// server's suggestion to continue as new, and says why the session ends.
func (s *session) run(ctx workflow.Context) (string, error) {
	watchCtx, stopWatching := workflow.WithCancel(ctx)
	defer stopWatching()
	workflow.Go(watchCtx, s.watchLifetime)
	workflow.Go(watchCtx, s.watchIdle)

	info := workflow.GetInfo(ctx)
	if err := workflow.Await(ctx, func() bool {
		return s.exitReason() != "" || info.GetContinueAsNewSuggested()
	}); err != nil {
		return EndReasonCancelled, nil
	}
	if r := s.exitReason(); r != "" {
		return r, nil
	}
	// Continue-as-new loses the answers of handlers still running, so wait for
	// a moment with none in flight, unless the session ends meanwhile. Most
	// sessions reach one soon, and nobody is refused anything. A busy session
	// (several agents calling at once) may never reach one: once its history
	// has doubled since the suggestion (still far below the server's hard
	// limit), stop admitting new operations, which are refused with
	// ErrTypeContinuing and retried by their callers on the next run.
	// EndSession is still admitted.
	drainLength, drainSize := 2*info.GetCurrentHistoryLength(), 2*info.GetCurrentHistorySize()
	if err := workflow.Await(ctx, func() bool {
		return s.exitReason() != "" || workflow.AllHandlersFinished(ctx) ||
			info.GetCurrentHistoryLength() >= drainLength || info.GetCurrentHistorySize() >= drainSize
	}); err != nil {
		return EndReasonCancelled, nil
	}
	if !workflow.AllHandlersFinished(ctx) && s.exitReason() == "" {
		s.draining = true
		s.logger.Info("Continue-as-new overdue: draining operations in flight",
			"HistoryLength", info.GetCurrentHistoryLength(), "HistorySize", info.GetCurrentHistorySize(), "Inflight", s.inflight)
		if err := workflow.Await(ctx, func() bool {
			return s.exitReason() != "" || workflow.AllHandlersFinished(ctx)
		}); err != nil {
			return EndReasonCancelled, nil
		}
	}
	if r := s.exitReason(); r != "" {
		return r, nil
	}
	s.continuing = true
	next := s.st
	next.Runs++
	count(ctx, metricContinueAsNew, nil)
	s.logger.Info("Continuing session as new", "Runs", next.Runs, "Sprites", len(next.Sprites))
	return "", workflow.NewContinueAsNewError(ctx, SessionWorkflowName, SessionInput{
		SessionID: s.id,
		Config:    s.cfg,
		State:     &next,
	})
}

// exitReason says why the session must end now, or "" while it goes on.
func (s *session) exitReason() string {
	if s.endReason != "" {
		return s.endReason
	}
	return s.expired
}

// watchLifetime ends the session at StartedAt + MaxLifetime; StartedAt
// carries over continue-as-new, so the lifetime spans every run.
func (s *session) watchLifetime(ctx workflow.Context) {
	wait := s.st.StartedAt.Add(s.cfg.MaxLifetime).Sub(workflow.Now(ctx))
	if wait > 0 {
		if err := workflow.NewTimer(ctx, wait).Get(ctx, nil); err != nil {
			return // the run is over
		}
	}
	if s.expired == "" {
		s.expired = EndReasonLifetime
	}
}

// watchIdle ends the session once no operation has run for IdleTimeout. The
// timer is not reset by each update: when it fires early (activity moved the
// deadline) it is re-armed for the rest, so a busy session costs two history
// events per idle period instead of two per update. While an operation runs
// the session is not idle at all.
func (s *session) watchIdle(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return s.inflight == 0 }); err != nil {
			return
		}
		wait := s.st.LastActivityAt.Add(s.cfg.IdleTimeout).Sub(workflow.Now(ctx))
		if wait <= 0 {
			if s.expired == "" {
				s.expired = EndReasonIdle
			}
			return
		}
		if err := workflow.NewTimer(ctx, wait).Get(ctx, nil); err != nil {
			return
		}
	}
}

// touch records activity for the idle timeout.
func (s *session) touch(ctx workflow.Context) {
	s.st.LastActivityAt = workflow.Now(ctx)
}

// begin starts tracking a handler: its context is cancelled when the session
// ends, and while it runs the session is not idle.
func (s *session) begin(ctx workflow.Context) (workflow.Context, func()) {
	hctx, cancel := workflow.WithCancel(ctx)
	id := s.nextHandler
	s.nextHandler++
	s.cancels[id] = cancel
	if s.ending {
		cancel() // accepted just before the end began: do not start work
	}
	s.inflight++
	s.touch(ctx)
	return hctx, func() {
		delete(s.cancels, id)
		s.inflight--
		s.touch(ctx)
	}
}

// cancelHandlers cancels every in-flight operation: a running exec must not
// keep a sprite alive (or cleanup waiting) after the session ends.
func (s *session) cancelHandlers() {
	for _, id := range workflow.DeterministicKeys(s.cancels) {
		s.cancels[id]()
	}
}
