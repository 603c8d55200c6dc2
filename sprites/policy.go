package sprites

import (
	"context"
	"net/http"
)

// GetNetworkPolicy returns a sprite's egress policy. No rules means
// unrestricted.
func (c *Client) GetNetworkPolicy(ctx context.Context, sprite string) (*NetworkPolicy, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	var p NetworkPolicy
	if err := c.doJSON(ctx, "get network policy of "+sprite, http.MethodGet, spritePath(sprite, "policy", "network"), nil, nil, &p, http.StatusOK); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetNetworkPolicy replaces a sprite's egress policy. The docs answer 200
// with the policy, the official Go client expects 204; both are success.
func (c *Client) SetNetworkPolicy(ctx context.Context, sprite string, p NetworkPolicy) error {
	if err := ValidateName(sprite); err != nil {
		return err
	}
	if p.Rules == nil {
		p.Rules = []PolicyRule{} // null rules would not mean "unrestricted"
	}
	return c.doJSON(ctx, "set network policy of "+sprite, http.MethodPost, spritePath(sprite, "policy", "network"), nil, p, nil,
		http.StatusOK, http.StatusNoContent)
}
