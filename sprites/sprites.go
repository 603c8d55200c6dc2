package sprites

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// maxNameLen is the longest sprite name the service accepts.
const maxNameLen = 63

// ValidateName checks a sprite name before any request is sent: 1 to 63
// characters of [a-z0-9-], not starting or ending with '-'. The error wraps
// ErrInvalid.
func ValidateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("sprites: invalid sprite name %q: length must be 1 to %d: %w", name, maxNameLen, ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '-' {
			return fmt.Errorf("sprites: invalid sprite name %q: only a-z, 0-9 and '-' are allowed: %w", name, ErrInvalid)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("sprites: invalid sprite name %q: must not start or end with '-': %w", name, ErrInvalid)
	}
	return nil
}

// CreateSprite creates a sprite. The service answers 201; 200 is accepted
// too. A duplicate name is ErrConflict, which callers that retry a create
// treat as "exists already".
func (c *Client) CreateSprite(ctx context.Context, req CreateRequest) (*Sprite, error) {
	if err := ValidateName(req.Name); err != nil {
		return nil, err
	}
	var s Sprite
	err := c.doJSON(ctx, "create sprite "+req.Name, http.MethodPost, "/v1/sprites", nil, req, &s,
		http.StatusCreated, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// GetSprite returns one sprite. A missing one is ErrNotFound (404, or the
// service's 500 "failed to retrieve sprite").
func (c *Client) GetSprite(ctx context.Context, name string) (*Sprite, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var s Sprite
	if err := c.doJSON(ctx, "get sprite "+name, http.MethodGet, spritePath(name), nil, nil, &s, http.StatusOK); err != nil {
		return nil, err
	}
	return &s, nil
}

// ListSprites returns one page of sprites. Use NextToken on the page, not
// HasMore, to decide whether another page exists.
func (c *Client) ListSprites(ctx context.Context, opts ListOptions) (*ListPage, error) {
	q := url.Values{}
	if opts.Prefix != "" {
		q.Set("prefix", opts.Prefix)
	}
	if opts.MaxResults > 0 {
		q.Set("max_results", strconv.Itoa(opts.MaxResults))
	}
	if opts.ContinuationToken != "" {
		q.Set("continuation_token", opts.ContinuationToken)
	}
	var p ListPage
	if err := c.doJSON(ctx, "list sprites", http.MethodGet, "/v1/sprites", q, nil, &p, http.StatusOK); err != nil {
		return nil, err
	}
	return &p, nil
}

// AllSprites iterates over the sprites of every page, starting at
// opts.ContinuationToken. It stops on an empty or null continuation token
// even when has_more is true (the service answers an empty page that way).
// An error is yielded once and ends the iteration.
func (c *Client) AllSprites(ctx context.Context, opts ListOptions) iter.Seq2[Sprite, error] {
	return func(yield func(Sprite, error) bool) {
		seen := map[string]bool{}
		for {
			page, err := c.ListSprites(ctx, opts)
			if err != nil {
				yield(Sprite{}, err)
				return
			}
			for _, s := range page.Sprites {
				if !yield(s, nil) {
					return
				}
			}
			next := page.NextToken()
			if next == "" {
				return
			}
			// A token seen before would make this loop forever.
			if seen[next] {
				yield(Sprite{}, fmt.Errorf("sprites: list sprites: the service repeated continuation token %q", next))
				return
			}
			seen[next] = true
			opts.ContinuationToken = next
		}
	}
}

// UpdateSprite changes url_settings and/or labels and returns the updated
// sprite.
func (c *Client) UpdateSprite(ctx context.Context, name string, req UpdateRequest) (*Sprite, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var s Sprite
	if err := c.doJSON(ctx, "update sprite "+name, http.MethodPut, spritePath(name), nil, req, &s, http.StatusOK); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSprite deletes a sprite and all its checkpoints (200 or 204). A
// missing sprite is ErrNotFound (404, or the service's 500 "failed to
// delete sprite"); callers that only want it gone treat that as success.
func (c *Client) DeleteSprite(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return c.doJSON(ctx, "delete sprite "+name, http.MethodDelete, spritePath(name), nil, nil, nil,
		http.StatusNoContent, http.StatusOK)
}
