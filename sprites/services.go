package sprites

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ListServices lists a sprite's services with their state.
func (c *Client) ListServices(ctx context.Context, sprite string) ([]ServiceWithState, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	var list []ServiceWithState
	if err := c.doJSON(ctx, "list services of "+sprite, http.MethodGet, spritePath(sprite, "services"), nil, nil, &list, http.StatusOK); err != nil {
		return nil, err
	}
	return list, nil
}

// GetService returns one service. A missing one is ErrNotFound.
func (c *Client) GetService(ctx context.Context, sprite, name string) (*ServiceWithState, error) {
	if err := validateService(sprite, name); err != nil {
		return nil, err
	}
	var s ServiceWithState
	op := fmt.Sprintf("get service %s of %s", name, sprite)
	if err := c.doJSON(ctx, op, http.MethodGet, spritePath(sprite, "services", url.PathEscape(name)), nil, nil, &s, http.StatusOK); err != nil {
		return nil, err
	}
	return &s, nil
}

// PutService creates or replaces a service and returns the events the
// server streams for duration (zero means the server's default, 5s). A
// second service with an http_port is ErrConflict.
func (c *Client) PutService(ctx context.Context, sprite, name string, svc Service, duration time.Duration) ([]StreamEvent, error) {
	if err := validateService(sprite, name); err != nil {
		return nil, err
	}
	return c.serviceStream(ctx, fmt.Sprintf("put service %s of %s", name, sprite), http.MethodPut,
		spritePath(sprite, "services", url.PathEscape(name)), durationQuery("duration", duration), svc)
}

// StartService starts a service and returns the events streamed for
// duration (zero means the server's default).
func (c *Client) StartService(ctx context.Context, sprite, name string, duration time.Duration) ([]StreamEvent, error) {
	if err := validateService(sprite, name); err != nil {
		return nil, err
	}
	return c.serviceStream(ctx, fmt.Sprintf("start service %s of %s", name, sprite), http.MethodPost,
		spritePath(sprite, "services", url.PathEscape(name), "start"), durationQuery("duration", duration), nil)
}

// StopService stops a service, waiting up to timeout (zero means the
// server's default) before it is killed, and returns the streamed events.
// A service that is not running is ErrConflict.
func (c *Client) StopService(ctx context.Context, sprite, name string, timeout time.Duration) ([]StreamEvent, error) {
	if err := validateService(sprite, name); err != nil {
		return nil, err
	}
	return c.serviceStream(ctx, fmt.Sprintf("stop service %s of %s", name, sprite), http.MethodPost,
		spritePath(sprite, "services", url.PathEscape(name), "stop"), durationQuery("timeout", timeout), nil)
}

// DeleteService deletes a service's definition (its log files stay).
func (c *Client) DeleteService(ctx context.Context, sprite, name string) error {
	if err := validateService(sprite, name); err != nil {
		return err
	}
	op := fmt.Sprintf("delete service %s of %s", name, sprite)
	return c.doJSON(ctx, op, http.MethodDelete, spritePath(sprite, "services", url.PathEscape(name)), nil, nil, nil,
		http.StatusNoContent, http.StatusOK)
}

// SignalService sends a signal (e.g. "HUP") to a running service.
func (c *Client) SignalService(ctx context.Context, sprite, name, signal string) error {
	if err := validateService(sprite, name); err != nil {
		return err
	}
	op := fmt.Sprintf("signal service %s of %s", name, sprite)
	body := struct {
		Name   string `json:"name"`
		Signal string `json:"signal"`
	}{name, signal}
	return c.doJSON(ctx, op, http.MethodPost, spritePath(sprite, "services", "signal"), nil, body, nil,
		http.StatusNoContent, http.StatusOK)
}

func validateService(sprite, name string) error {
	if err := ValidateName(sprite); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("sprites: service of %s: empty service name: %w", sprite, ErrInvalid)
	}
	return nil
}

func durationQuery(key string, d time.Duration) url.Values {
	if d <= 0 {
		return nil
	}
	return url.Values{key: {d.String()}}
}

// serviceStream sends a request answered by a service log stream and
// collects its events. An error event fails the call. A stream that just
// ends is accepted: it is a log window of a fixed duration, and the
// operation itself was accepted with 200.
func (c *Client) serviceStream(ctx context.Context, op, method, path string, q url.Values, body any) ([]StreamEvent, error) {
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.doStream(op, req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var events []StreamEvent
	_, err = ReadStream(op, resp.Body, func(ev StreamEvent) error {
		events = append(events, ev)
		return nil
	})
	var se *StreamError
	if errors.As(err, &se) && se.Truncated {
		err = nil
	}
	return events, err
}
