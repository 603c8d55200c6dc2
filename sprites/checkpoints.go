package sprites

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// The service's checkpoint stream carries the new ID only in its text:
// "Checkpoint v1 created successfully" (complete) and "  ID: v1" (info).
var (
	completeIDPattern = regexp.MustCompile(`\bCheckpoint (v[0-9]+) created\b`)
	infoIDPattern     = regexp.MustCompile(`^\s*ID:\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*$`)
)

// checkpointIDFrom returns the checkpoint ID a stream event's text names.
func checkpointIDFrom(ev StreamEvent) string {
	text := ev.Text()
	if m := completeIDPattern.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if m := infoIDPattern.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// CreateCheckpoint takes a checkpoint and reads the stream to its end; an
// error event or a stream without complete is a *StreamError although HTTP
// said 200. The ID is parsed from the stream's text and confirmed by
// listing. When the text names no ID, the newest non-auto checkpoint with
// the same comment created since the call began is taken. progress, when
// non-nil, sees every event.
//
// When the stream named an ID but the confirming list fails, the returned
// Checkpoint carries that ID alongside the error: the checkpoint exists.
func (c *Client) CreateCheckpoint(ctx context.Context, sprite, comment string, progress func(StreamEvent)) (*Checkpoint, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	op := "create checkpoint of " + sprite
	// The service reports whole seconds; a checkpoint created during this
	// call may carry the second the call began in.
	began := time.Now().Truncate(time.Second)
	req, err := c.newRequest(ctx, http.MethodPost, spritePath(sprite, "checkpoint"), nil, CheckpointRequest{Comment: comment})
	if err != nil {
		return nil, err
	}
	resp, err := c.doStream(op, req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var id string
	_, err = ReadStream(op, resp.Body, func(ev StreamEvent) error {
		if progress != nil {
			progress(ev)
		}
		// The complete event's ID is the authoritative one; an info line
		// only fills in when nothing better has been seen.
		if found := checkpointIDFrom(ev); found != "" && (id == "" || ev.Type == "complete") {
			id = found
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	list, err := c.ListCheckpoints(ctx, sprite, false)
	if err != nil {
		if id != "" {
			return &Checkpoint{ID: id, Comment: comment}, fmt.Errorf("sprites: %s: confirming checkpoint %s: %w", op, id, err)
		}
		return nil, fmt.Errorf("sprites: %s: finding the new checkpoint: %w", op, err)
	}
	if id != "" {
		for i := range list {
			if list[i].ID == id {
				return &list[i], nil
			}
		}
		return &Checkpoint{ID: id, Comment: comment}, fmt.Errorf("sprites: %s: checkpoint %s was reported created but is not listed", op, id)
	}
	var newest *Checkpoint
	for i := range list {
		cp := &list[i]
		if cp.IsAuto || cp.Comment != comment || cp.CreateTime.Before(began) {
			continue
		}
		if newest == nil || cp.CreateTime.After(newest.CreateTime) {
			newest = cp
		}
	}
	if newest == nil {
		return nil, fmt.Errorf("sprites: %s: the stream named no checkpoint ID and none with comment %q is listed since %s", op, comment, began.Format(time.RFC3339))
	}
	return newest, nil
}

// RestoreCheckpoint restores a checkpoint and reads the stream to its end.
// An error event (the service answers an unknown ID that way, under HTTP
// 200) or a stream without complete is a *StreamError; errors.Is(err,
// ErrNotFound) is true when the event says the checkpoint was not found.
// The restore restarts the sprite's environment: running exec sessions end.
func (c *Client) RestoreCheckpoint(ctx context.Context, sprite, id string, progress func(StreamEvent)) error {
	if err := ValidateName(sprite); err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("sprites: restore checkpoint of %s: empty checkpoint ID: %w", sprite, ErrInvalid)
	}
	op := fmt.Sprintf("restore checkpoint %s of %s", id, sprite)
	req, err := c.newRequest(ctx, http.MethodPost, spritePath(sprite, "checkpoints", url.PathEscape(id), "restore"), nil, nil)
	if err != nil {
		return err
	}
	resp, err := c.doStream(op, req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = ReadStream(op, resp.Body, func(ev StreamEvent) error {
		if progress != nil {
			progress(ev)
		}
		return nil
	})
	return err
}

// ListCheckpoints lists a sprite's checkpoints, newest first as the service
// orders them, without the "Current" pseudo-entry the service puts first.
// includeAuto adds the automatic (auto-...) checkpoints.
func (c *Client) ListCheckpoints(ctx context.Context, sprite string, includeAuto bool) ([]Checkpoint, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	op := "list checkpoints of " + sprite
	var q url.Values
	if includeAuto {
		q = url.Values{"includeAuto": {"true"}}
	}
	// Entries are decoded one by one so that the pseudo-entry, whose other
	// fields are not documented, cannot fail the whole list.
	var raw []json.RawMessage
	if err := c.doJSON(ctx, op, http.MethodGet, spritePath(sprite, "checkpoints"), q, nil, &raw, http.StatusOK); err != nil {
		return nil, err
	}
	list := make([]Checkpoint, 0, len(raw))
	for _, r := range raw {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r, &head); err != nil {
			return nil, fmt.Errorf("sprites: %s: decoding entry: %w", op, err)
		}
		if head.ID == CurrentCheckpointID {
			continue
		}
		var cp Checkpoint
		if err := json.Unmarshal(r, &cp); err != nil {
			return nil, fmt.Errorf("sprites: %s: decoding checkpoint %s: %w", op, head.ID, err)
		}
		list = append(list, cp)
	}
	return list, nil
}

// GetCheckpoint returns one checkpoint. An unknown ID is ErrNotFound (the
// service answers 500 "... checkpoint not found ...").
func (c *Client) GetCheckpoint(ctx context.Context, sprite, id string) (*Checkpoint, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fmt.Errorf("sprites: get checkpoint of %s: empty checkpoint ID: %w", sprite, ErrInvalid)
	}
	var cp Checkpoint
	op := fmt.Sprintf("get checkpoint %s of %s", id, sprite)
	if err := c.doJSON(ctx, op, http.MethodGet, spritePath(sprite, "checkpoints", url.PathEscape(id)), nil, nil, &cp, http.StatusOK); err != nil {
		return nil, err
	}
	return &cp, nil
}
