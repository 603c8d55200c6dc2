package spritestest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func testPolicy(t *testing.T, s *suite) {
	c := s.Client
	name := s.newSprite(t, "policy")

	t.Run("NewSpriteIsUnrestricted", func(t *testing.T) {
		p, err := c.GetNetworkPolicy(s.ctx, name)
		if err != nil {
			t.Fatalf("GetNetworkPolicy: %v", err)
		}
		if len(p.Rules) != 0 {
			t.Errorf("policy of a new sprite = %+v, want no rules", p.Rules)
		}
	})

	t.Run("SetReplacesRules", func(t *testing.T) {
		want := []sprites.PolicyRule{
			{Include: "defaults"},
			{Domain: "example.com", Action: "allow"},
			{Domain: "*", Action: "deny"},
		}
		if err := c.SetNetworkPolicy(s.ctx, name, sprites.NetworkPolicy{Rules: want}); err != nil {
			t.Fatalf("SetNetworkPolicy: %v", err)
		}
		p, err := c.GetNetworkPolicy(s.ctx, name)
		if err != nil {
			t.Fatalf("GetNetworkPolicy: %v", err)
		}
		if !slices.Equal(p.Rules, want) {
			t.Errorf("policy = %+v, want %+v", p.Rules, want)
		}
		if err := c.SetNetworkPolicy(s.ctx, name, sprites.NetworkPolicy{}); err != nil {
			t.Fatalf("SetNetworkPolicy(no rules): %v", err)
		}
		if p, err = c.GetNetworkPolicy(s.ctx, name); err != nil || len(p.Rules) != 0 {
			t.Errorf("policy after clearing = %+v, %v; want no rules", p, err)
		}
	})

	t.Run("CallsAreNotFoundWhenSpriteMissing", func(t *testing.T) {
		missing := s.name("policy-missing")
		if _, err := c.GetNetworkPolicy(s.ctx, missing); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("GetNetworkPolicy(missing sprite) = %v, want ErrNotFound", err)
		}
		if err := c.SetNetworkPolicy(s.ctx, missing, sprites.NetworkPolicy{}); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("SetNetworkPolicy(missing sprite) = %v, want ErrNotFound", err)
		}
	})
}
