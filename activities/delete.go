package activities

import (
	"context"
	"errors"
	"net/http"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// DeleteSpriteInput names the sprite to delete.
type DeleteSpriteInput struct {
	ProviderName string `json:"provider_name"`
}

// DeleteSpriteOutput reports whether the sprite was still there.
type DeleteSpriteOutput struct {
	Existed bool `json:"existed"`
}

// DeleteSprite deletes the sprite and returns only once it is confirmed gone
// (a missing sprite is success; a 500 is confirmed by a get).
func (a *Activities) DeleteSprite(ctx context.Context, in DeleteSpriteInput) (DeleteSpriteOutput, error) {
	op := "delete sprite " + in.ProviderName
	err := a.client.DeleteSprite(ctx, in.ProviderName)
	if err != nil && isStatus(err, http.StatusNotFound) {
		return DeleteSpriteOutput{Existed: false}, nil
	}
	if err != nil && !sprites.IsRetryable(err) && !sprites.IsNotFound(err) {
		// 401, 400, a cancelled context: asking again cannot confirm anything.
		return DeleteSpriteOutput{}, Classify(op, err)
	}
	if sprites.IsRateLimited(err) {
		// Refused, so nothing changed: wait the server's retry_after rather
		// than spend more calls confirming.
		return DeleteSpriteOutput{}, Classify(op, err)
	}
	// A 204 is checked too: success promises the sprite is gone. After a
	// failed delete, the service's 500 "failed to delete sprite" is what it
	// answers for a missing sprite, but a real failure could read the same.
	gone, cerr := a.confirmGone(ctx, in.ProviderName)
	switch {
	case cerr != nil:
		return DeleteSpriteOutput{}, Classify(op+": confirming", cerr)
	case gone:
		return DeleteSpriteOutput{Existed: err == nil}, nil
	case err != nil:
		return DeleteSpriteOutput{}, retryable(ErrTypeUnavailable, "%s: %v; the sprite is still there", op, err)
	default:
		return DeleteSpriteOutput{}, retryable(ErrTypeUnavailable, "%s: deleted, but the sprite is still listed", op)
	}
}

// confirmGone reports whether the sprite no longer exists. A get that
// answers 404 settles it; a 5xx that reads "not found" (the real service's
// answer for a missing sprite, but also possibly a failure) is settled by
// listing the sprites with the name as prefix.
func (a *Activities) confirmGone(ctx context.Context, name string) (bool, error) {
	_, err := a.client.GetSprite(ctx, name)
	switch {
	case err == nil:
		return false, nil
	case isStatus(err, http.StatusNotFound):
		return true, nil
	case !sprites.IsNotFound(err):
		return false, err
	}
	for sp, lerr := range a.client.AllSprites(ctx, sprites.ListOptions{Prefix: name}) {
		if lerr != nil {
			return false, lerr
		}
		if sp.Name == name {
			return false, nil
		}
	}
	return true, nil
}

// isStatus reports whether err is an API answer with the given status.
func isStatus(err error, status int) bool {
	var apiErr *sprites.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}
