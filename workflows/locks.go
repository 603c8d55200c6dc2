package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// mutex returns the lock of a logical sprite name. Locks outlive the sprite
// (a deleted name may be created again, and a waiter may still hold the
// old lock object), so they are never removed during a run.
func (s *session) mutex(ctx workflow.Context, name string) workflow.Mutex {
	m, ok := s.locks[name]
	if !ok {
		m = workflow.NewMutex(ctx)
		s.locks[name] = m
	}
	return m
}

// lock takes the locks of names in sorted order, so two operations over
// overlapping sets of sprites can never wait on each other in a cycle. On
// error nothing is held.
func (s *session) lock(ctx workflow.Context, names ...string) (unlock func(), err error) {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	held := make([]workflow.Mutex, 0, len(sorted))
	release := func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].Unlock()
		}
	}
	for _, name := range sorted {
		m := s.mutex(ctx, name)
		if err := m.Lock(ctx); err != nil {
			release()
			return nil, err
		}
		held = append(held, m)
	}
	return release, nil
}

// acquire locks one sprite for an operation and checks, after the wait, that
// the sprite is still owned and (unless allowed) not tainted.
func (s *session) acquire(ctx workflow.Context, name string, allowTainted bool) (*SpriteState, func(), error) {
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	sp, err := s.usable(name, allowTainted)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return sp, unlock, nil
}

// usable re-checks, under the sprite's lock, what the validator checked
// before the operation waited its turn.
func (s *session) usable(name string, allowTainted bool) (*SpriteState, error) {
	sp := s.st.Sprites[name]
	if sp == nil {
		return nil, temporal.NewApplicationError(fmt.Sprintf("sprite %q was deleted while this operation waited for it", name), ErrTypeSpriteGone)
	}
	if sp.Tainted && !allowTainted {
		return nil, temporal.NewApplicationError(fmt.Sprintf("sprite %q became tainted (an automatic restore failed) while this operation waited for it", name), ErrTypeSpriteGone)
	}
	return sp, nil
}
