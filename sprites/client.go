package sprites

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the Sprites API.
const DefaultBaseURL = "https://api.sprites.dev"

// Client calls the Sprites API. Its zero value is not usable; call New.
// A Client is safe for concurrent use.
type Client struct {
	baseURL   *url.URL
	token     string
	http      *http.Client
	userAgent string
	// err is a bad option; every call returns it without sending anything.
	err error
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL points the client at another server, such as localsprites.
// An address that is not an http or https URL makes every call fail: the
// token must not go to the default server instead.
func WithBaseURL(u string) Option {
	return func(c *Client) {
		parsed, err := url.Parse(strings.TrimRight(u, "/"))
		switch {
		case err != nil:
			// %v: a *url.Error in the chain would read as a network failure
			// worth retrying.
			c.err = fmt.Errorf("sprites: invalid base URL: %v: %w", err, ErrInvalid)
		case (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "":
			c.err = fmt.Errorf("sprites: invalid base URL %q: want http(s)://host[:port]: %w", u, ErrInvalid)
		default:
			c.baseURL, c.err = parsed, nil
		}
	}
}

// WithHTTPClient replaces the HTTP client. Streamed calls (checkpoint,
// restore, exec) ignore its Timeout and rely on their context instead.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.http = h }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client that authenticates with token. It does no I/O.
func New(token string, opts ...Option) *Client {
	u, _ := url.Parse(DefaultBaseURL)
	c := &Client{
		baseURL:   u,
		token:     token,
		http:      &http.Client{},
		userAgent: "sprite-sessions",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the API's base URL.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// endpoint builds the URL for path (which starts with /v1/ and whose
// elements are already escaped) and query.
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.baseURL
	// path is escaped (spritePath escapes each element); keeping it as
	// RawPath stops url.URL from escaping a '%' a second time.
	raw := strings.TrimRight(u.EscapedPath(), "/") + path
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
	} else {
		u.Path, u.RawPath = raw, ""
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return &u
}

// spritePath returns /v1/sprites/{name} followed by the path elements, each escaped.
func spritePath(name string, elems ...string) string {
	var b strings.Builder
	b.WriteString("/v1/sprites/")
	b.WriteString(url.PathEscape(name))
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(e)
	}
	return b.String()
}

// newRequest builds an authenticated request. body may be nil, an io.Reader
// (sent as octet-stream) or a value encoded as JSON.
func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body any) (*http.Request, error) {
	if c.err != nil {
		return nil, c.err
	}
	var r io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r, contentType = b, "application/octet-stream"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("sprites: encoding request: %w", err)
		}
		r, contentType = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, q).String(), r)
	if err != nil {
		return nil, fmt.Errorf("sprites: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// do sends the request and returns the response when its status is one of
// ok; otherwise it returns the decoded *APIError and closes the body.
// Transport errors never contain the token: it travels only in a header.
func (c *Client) do(op string, req *http.Request, ok ...int) (*http.Response, error) {
	return c.doWith(c.http, op, req, ok...)
}

// doStream is do for long streamed answers (checkpoint, restore, service
// logs, HTTP exec): an overall client timeout must not cut them, the
// request's context bounds them instead.
func (c *Client) doStream(op string, req *http.Request, ok ...int) (*http.Response, error) {
	return c.doWith(c.streamClient(), op, req, ok...)
}

func (c *Client) doWith(h *http.Client, op string, req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := h.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sprites: %s: %w", op, err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	return nil, c.redact(DecodeError(op, resp))
}

// redact removes the token from an error a server built: a server may echo
// a refused credential back in its error body, and error texts end up in
// logs and workflow histories.
func (c *Client) redact(e *APIError) *APIError {
	if e == nil || c.token == "" {
		return e
	}
	r := strings.NewReplacer(c.token, "[redacted]")
	e.Message = r.Replace(e.Message)
	e.Body.Error = r.Replace(e.Body.Error)
	e.Body.Message = r.Replace(e.Body.Message)
	e.Body.Path = r.Replace(e.Body.Path)
	for i, s := range e.Body.Errors {
		e.Body.Errors[i] = r.Replace(s)
	}
	return e
}

// doJSON sends a request and decodes a JSON answer into out (when non-nil).
func (c *Client) doJSON(ctx context.Context, op, method, path string, q url.Values, body, out any, ok ...int) error {
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	resp, err := c.do(op, req, ok...)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("sprites: %s: decoding answer: %w", op, err)
	}
	return nil
}

// streamClient is the HTTP client for long streamed calls: same transport,
// no overall timeout (the context bounds them).
func (c *Client) streamClient() *http.Client {
	if c.http.Timeout == 0 {
		return c.http
	}
	h := *c.http
	h.Timeout = 0
	return &h
}

// pollInterval is how often helpers that wait for a state re-check it.
const pollInterval = 100 * time.Millisecond
