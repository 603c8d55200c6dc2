package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
)

// TestDemo_RunsEndToEndAndLeavesNoSprite runs the starter's scripted demo
// (what `sprite-sessions demo` shows a new user) against the real system.
func TestDemo_RunsEndToEndAndLeavesNoSprite(t *testing.T) {
	t.Parallel()
	env := harness.New(t)
	ctx := testContext(t, 2*time.Minute)

	var out strings.Builder
	err := starter.RunDemo(ctx, env.Starter, &out, starter.DemoOptions{
		SessionID: "demo-e2e",
		BackendSprites: func(ctx context.Context, workflowID string) ([]string, error) {
			owned, err := env.SpritesOwnedBy(ctx, workflowID)
			return harness.Names(owned), err
		},
	})
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("RunDemo: %v", err)
	}
	for _, want := range []string{"restored=true", "files identical", "Sprites backend: 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	env.AssertNoSprites(t)
}
