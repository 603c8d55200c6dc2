package activities

import (
	"context"
	"slices"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// ServiceURLInput asks for a sprite's URL.
type ServiceURLInput struct {
	ProviderName string `json:"provider_name"`
}

// ServiceURLOutput carries the URL and services.
type ServiceURLOutput struct {
	Status   string   `json:"status"`
	URL      string   `json:"url,omitempty"`
	Public   bool     `json:"public"`
	Services []string `json:"services,omitempty"`
}

// ServiceURL returns the sprite's URL, whether anyone may open it, and the
// names of its services (sorted).
func (a *Activities) ServiceURL(ctx context.Context, in ServiceURLInput) (ServiceURLOutput, error) {
	sp, err := a.client.GetSprite(ctx, in.ProviderName)
	if err != nil {
		return ServiceURLOutput{}, Classify("get sprite "+in.ProviderName, err)
	}
	svcs, err := a.client.ListServices(ctx, in.ProviderName)
	if err != nil {
		return ServiceURLOutput{}, Classify("list services of "+in.ProviderName, err)
	}
	out := ServiceURLOutput{
		Status: sp.Status,
		URL:    sp.URL,
		Public: sp.URLSettings != nil && sp.URLSettings.Auth == sprites.AuthPublic,
	}
	for _, s := range svcs {
		out.Services = append(out.Services, s.Name)
	}
	slices.Sort(out.Services)
	return out, nil
}
