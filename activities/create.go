package activities

import (
	"context"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// CreateSpriteInput creates a sprite under its provider name.
type CreateSpriteInput struct {
	ProviderName string   `json:"provider_name"`
	Labels       []string `json:"labels"`
	PublicURL    bool     `json:"public_url,omitempty"`
	CPUs         int      `json:"cpus,omitempty"`
	MemoryMB     int      `json:"memory_mb,omitempty"`
}

// CreateSpriteOutput describes the sprite.
type CreateSpriteOutput struct {
	Status    string    `json:"status"`
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Existed is set when a 409 found the sprite already there with our
	// owner label (a retried create).
	Existed bool `json:"existed,omitempty"`
}

// CreateSprite creates the sprite; a 409 is success when the existing sprite
// carries the same owner label, a Conflict error otherwise.
func (a *Activities) CreateSprite(ctx context.Context, in CreateSpriteInput) (CreateSpriteOutput, error) {
	op := "create sprite " + in.ProviderName
	req := sprites.CreateRequest{
		Name:        in.ProviderName,
		Labels:      in.Labels,
		URLSettings: &sprites.URLSettings{Auth: sprites.AuthSprite},
	}
	if in.PublicURL {
		req.URLSettings.Auth = sprites.AuthPublic
	}
	if in.CPUs > 0 || in.MemoryMB > 0 {
		req.Config = &sprites.Config{CPUs: in.CPUs, RAMMB: in.MemoryMB}
	}
	if a.creates != nil {
		if r := a.creates.Reserve(); r.Delay() > 0 {
			wait := r.Delay()
			r.Cancel()
			return CreateSpriteOutput{}, temporal.NewApplicationErrorWithOptions(
				op+": over this worker's cap of sprite creates per minute; retrying in "+wait.Round(time.Millisecond).String(),
				ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: wait})
		}
	}
	sp, err := a.client.CreateSprite(ctx, req)
	if err == nil {
		return createOutput(sp, false), nil
	}
	if !sprites.IsConflict(err) {
		return CreateSpriteOutput{}, Classify(op, err)
	}

	// The name is taken: by an earlier attempt of this very create (its
	// answer was lost), or by someone else. The labels tell which.
	existing, gerr := a.client.GetSprite(ctx, in.ProviderName)
	switch {
	case gerr == nil:
	case sprites.IsNotFound(gerr):
		// Taken a moment ago, gone now (being deleted): creating again may work.
		return CreateSpriteOutput{}, retryable(ErrTypeUnavailable,
			"%s: the name was taken (409) but the sprite cannot be found; retrying", op)
	default:
		return CreateSpriteOutput{}, Classify(op+": reading the existing sprite after 409", gerr)
	}
	if !hasAllLabels(existing.Labels, in.Labels) {
		return CreateSpriteOutput{}, nonRetryable(ErrTypeConflict,
			"%s: the name is taken by a sprite this session does not own", op)
	}
	return createOutput(existing, true), nil
}

// hasAllLabels reports whether have contains every label of want. An empty
// want matches nothing: without an owner label a 409 cannot be ours.
func hasAllLabels(have, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func createOutput(sp *sprites.Sprite, existed bool) CreateSpriteOutput {
	return CreateSpriteOutput{Status: sp.Status, URL: sp.URL, CreatedAt: sp.CreatedAt, Existed: existed}
}
