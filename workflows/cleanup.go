package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// handlerGrace bounds how long a closing run waits for handlers (EndSession
// above all) to send their answers after cleanup.
const handlerGrace = time.Minute

// cleanup deletes every sprite the session owns, or may own, in parallel and
// returns the session's result. It runs on a disconnected context: a
// cancelled session cleans up too. In-flight operations are cancelled first,
// so a running exec releases its sprite at once; an automatic restore that is
// under way finishes first (it holds the sprite's lock), then the sprite is
// deleted.
func (s *session) cleanup(ctx workflow.Context, reason string) SessionResult {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	s.ending = true
	s.cancelHandlers()

	owned := workflow.DeterministicKeys(s.st.Sprites)
	names := slices.Clone(owned)
	names = append(names, s.st.Orphans...)
	names = append(names, workflow.DeterministicKeys(s.creating)...)
	slices.Sort(names)
	names = slices.Compact(names)

	gone := make([]bool, len(names))
	existed := make([]bool, len(names))
	wg := workflow.NewWaitGroup(dctx)
	for i, name := range names {
		wg.Add(1)
		workflow.Go(dctx, func(ctx workflow.Context) {
			defer wg.Done()
			gone[i], existed[i] = s.deleteOnCleanup(ctx, name)
		})
	}
	wg.Wait(dctx)

	res := SessionResult{SessionID: s.id, Reason: reason, Deleted: []string{}}
	for i, name := range names {
		switch {
		case gone[i] && (existed[i] || slices.Contains(owned, name)):
			res.Deleted = append(res.Deleted, name)
			count(ctx, metricCleanupSprite, map[string]string{"outcome": outcomeDeleted})
		case !gone[i]:
			res.Failed = append(res.Failed, name)
			count(ctx, metricCleanupSprite, map[string]string{"outcome": outcomeFailed})
		}
	}
	s.result = res
	s.cleaned = true
	count(ctx, metricSessionEnded, map[string]string{"reason": reason})
	s.logger.Info("Session ended", "Reason", reason, "Deleted", len(res.Deleted), "Failed", len(res.Failed))

	// Let EndSession, and any handler still finishing, send its answer before
	// the run closes.
	if !workflow.AllHandlersFinished(dctx) {
		_, _ = workflow.AwaitWithTimeout(dctx, handlerGrace, func() bool { return workflow.AllHandlersFinished(dctx) })
	}
	return res
}

// deleteOnCleanup deletes one sprite, retrying until it is confirmed gone or
// the budget ends. It takes the sprite's lock so it never interleaves with
// an operation still finishing on it.
func (s *session) deleteOnCleanup(ctx workflow.Context, name string) (gone, existed bool) {
	m := s.mutex(ctx, name)
	if err := m.Lock(ctx); err != nil {
		return false, false
	}
	defer m.Unlock()
	provider := ProviderName(s.namespace, s.id, name)
	if sp := s.st.Sprites[name]; sp != nil && sp.ProviderName != "" {
		provider = sp.ProviderName
	}
	var out activities.DeleteSpriteOutput
	in := activities.DeleteSpriteInput{ProviderName: provider}
	if err := workflow.ExecuteActivity(withOptions(ctx, deleteOptions(cleanupBudget)), acts.DeleteSprite, in).Get(ctx, &out); err != nil {
		s.logger.Error("Cleanup could not delete sprite; the reaper will", "Sprite", name, "ProviderName", provider, "Error", err)
		return false, false
	}
	if _, ok := s.st.Sprites[name]; ok {
		delete(s.st.Sprites, name)
		s.st.Counters.SpritesDeleted++
	}
	s.removeOrphan(name)
	return true, out.Existed
}

// registerEndSession installs EndSession. It is not an ordinary operation:
// it is accepted even while the session ends (a repeated EndSession gets the
// same answer), it is not cancelled by the end it causes, and it answers only
// once cleanup has finished.
func (s *session) registerEndSession(ctx workflow.Context) error {
	handler := func(ctx workflow.Context, req EndSessionRequest) (EndSessionResponse, error) {
		if s.endReason == "" && !s.ending {
			s.endReason = EndReasonEnded
			s.ending = true
			s.st.Counters.Updates++
			s.logger.Info("Session end requested", "Reason", req.Reason)
		}
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		if err := workflow.Await(dctx, func() bool { return s.cleaned }); err != nil {
			return EndSessionResponse{}, err
		}
		countUpdate(ctx, UpdateEndSession, outcomeOK)
		return EndSessionResponse{Deleted: s.result.Deleted, Failed: s.result.Failed}, nil
	}
	validator := func(ctx workflow.Context, req EndSessionRequest) error {
		if len(req.Reason) > maxCommentLen {
			return reject(ctx, UpdateEndSession, errTooLong("reason", maxCommentLen))
		}
		return nil
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateEndSession, handler, workflow.UpdateHandlerOptions{Validator: validator})
}
