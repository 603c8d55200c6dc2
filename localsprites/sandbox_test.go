package localsprites

import (
	"slices"
	"strings"
	"testing"
)

// TestEnvironment_KeepsOnlyTheSpritesOwnMarker gives an environment that
// carries a marker of its own: the process must still be found as the
// sprite's, and only as the sprite's.
func TestEnvironment_KeepsOnlyTheSpritesOwnMarker(t *testing.T) {
	sp := &sprite{srv: &Server{}, meta: meta{ID: "sprite-real", Name: "env", Port: 1234}}
	env := sp.environment([]string{markerVar + "=sprite-other", "A=1"})
	var markers []string
	for _, kv := range env {
		if strings.HasPrefix(kv, markerVar+"=") {
			markers = append(markers, kv)
		}
	}
	if !slices.Equal(markers, []string{markerVar + "=sprite-real"}) {
		t.Fatalf("markers %q, want only the sprite's own", markers)
	}
	if !slices.Contains(env, "A=1") || !hasVar(env, "PATH") {
		t.Fatalf("environment %q lost the given variables or PATH", env)
	}
}
