package sprites

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListSessions lists a sprite's exec sessions. The official clients read
// {"sessions":[...]}; older docs show a bare array; both are accepted.
func (c *Client) ListSessions(ctx context.Context, sprite string) ([]ExecSession, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	op := "list sessions of " + sprite
	var raw json.RawMessage
	if err := c.doJSON(ctx, op, http.MethodGet, spritePath(sprite, "exec"), nil, nil, &raw, http.StatusOK); err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []ExecSession
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("sprites: %s: decoding answer: %w", op, err)
		}
		return list, nil
	}
	var list SessionList
	if err := json.Unmarshal(trimmed, &list); err != nil {
		return nil, fmt.Errorf("sprites: %s: decoding answer: %w", op, err)
	}
	return list.Sessions, nil
}

// KillSession signals a session's process group: signal (empty means the
// server's default, SIGTERM), then SIGKILL after timeout (zero means the
// server's default, 10s). It reads the event stream to its end. A session
// that already exited (410) is not an error; a 404 is ErrNotFound, never
// success, because a wrong path answers 404 too.
func (c *Client) KillSession(ctx context.Context, sprite string, id int64, signal string, timeout time.Duration) error {
	if err := ValidateName(sprite); err != nil {
		return err
	}
	op := fmt.Sprintf("kill session %d in %s", id, sprite)
	q := url.Values{}
	if signal != "" {
		q.Set("signal", signal)
	}
	if timeout > 0 {
		q.Set("timeout", timeout.String())
	}
	req, err := c.newRequest(ctx, http.MethodPost, spritePath(sprite, "exec", strconv.FormatInt(id, 10), "kill"), q, nil)
	if err != nil {
		return err
	}
	resp, err := c.doStream(op, req, http.StatusOK, http.StatusGone)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusGone {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	_, err = ReadStream(op, resp.Body, nil)
	return err
}
