package harness

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// auditTimeout bounds the listing calls of the audits.
const auditTimeout = 30 * time.Second

// ProviderSprites lists every sprite localsprites holds (all pages),
// labelled or not, straight from the backend.
func (e *Env) ProviderSprites(ctx context.Context) ([]sprites.Sprite, error) {
	var all []sprites.Sprite
	for sp, err := range e.Sprites.AllSprites(ctx, sprites.ListOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("harness: listing sprites: %w", err)
		}
		all = append(all, sp)
	}
	return all, nil
}

// SpritesOwnedBy lists the sprites on the backend whose owner label names
// workflowID in this Env's namespace.
func (e *Env) SpritesOwnedBy(ctx context.Context, workflowID string) ([]sprites.Sprite, error) {
	all, err := e.ProviderSprites(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(sp sprites.Sprite) bool {
		ns, wf, ok := workflows.ParseOwner(sp.Labels)
		return !ok || ns != e.Namespace || wf != workflowID
	}), nil
}

// AssertNoSprites is the leak audit every e2e test ends with: it fails t
// unless localsprites holds no sprite at all.
func (e *Env) AssertNoSprites(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	left, err := e.ProviderSprites(ctx)
	if err != nil {
		t.Errorf("leak audit: %v", err)
		return
	}
	if len(left) > 0 {
		t.Errorf("leak audit: %d sprite(s) left on the backend: %v", len(left), Names(left))
	}
}

// WaitForSprites polls the backend until exactly want sprites are owned by
// workflowID (every sprite when workflowID is ""), and returns how long that
// took. It fails t when the timeout passes first.
func (e *Env) WaitForSprites(t testing.TB, workflowID string, want int, timeout time.Duration) time.Duration {
	t.Helper()
	var last []sprites.Sprite
	var lastErr error
	took, ok := poll(timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
		defer cancel()
		if workflowID == "" {
			last, lastErr = e.ProviderSprites(ctx)
		} else {
			last, lastErr = e.SpritesOwnedBy(ctx, workflowID)
		}
		return lastErr == nil && len(last) == want
	})
	if !ok {
		owner := "in total"
		if workflowID != "" {
			owner = "owned by " + workflowID
		}
		t.Fatalf("after %v: want %d sprite(s) %s, have %d %v (last error: %v)",
			timeout, want, owner, len(last), Names(last), lastErr)
	}
	return took
}

// Names returns the sprites' names, sorted.
func Names(list []sprites.Sprite) []string {
	names := make([]string, 0, len(list))
	for _, sp := range list {
		names = append(names, sp.Name)
	}
	slices.Sort(names)
	return names
}
