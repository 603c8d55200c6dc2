package sprites

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors matched by errors.Is on an *APIError or a stream error.
var (
	// ErrNotFound: the sprite, checkpoint, session or file does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the resource exists already (409), e.g. a duplicate sprite name.
	ErrConflict = errors.New("conflict")
	// ErrRateLimited: the API answered 429.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnauthorized: the token was missing or refused (401/403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrInvalid: the request was refused as invalid (400/422).
	ErrInvalid = errors.New("invalid request")
	// ErrGone: the exec session exited already (410 on kill).
	ErrGone = errors.New("gone")
)

// ErrorBody is the union of the error shapes the Sprites API answers with.
// localsprites writes it; the client decodes it.
type ErrorBody struct {
	Error             string   `json:"error,omitempty"`
	Errors            []string `json:"errors,omitempty"`
	Message           string   `json:"message,omitempty"`
	Code              string   `json:"code,omitempty"` // filesystem errno name, e.g. ENOENT
	Path              string   `json:"path,omitempty"`
	Limit             int      `json:"limit,omitempty"`
	WindowSeconds     int      `json:"window_seconds,omitempty"`
	RetryAfterSeconds int      `json:"retry_after_seconds,omitempty"`
	CurrentCount      int      `json:"current_count,omitempty"`
}

// APIError is a non-2xx answer from the Sprites API.
type APIError struct {
	StatusCode int
	// Op names the client call, e.g. "get sprite".
	Op string
	// Body is the decoded error body; Message falls back to the raw text.
	Body ErrorBody
	// Message is a human-readable summary of the body.
	Message string
	// RetryAfter is the server's requested wait (from retry_after_seconds or
	// the Retry-After header); zero when none was given.
	RetryAfter time.Duration
	// notFound is set when the answer means "missing" even though its status
	// is not 404 (the real service answers 500 for a missing sprite).
	notFound bool
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.Op == "" {
		return fmt.Sprintf("sprites: %s (status %d)", msg, e.StatusCode)
	}
	return fmt.Sprintf("sprites: %s: %s (status %d)", e.Op, msg, e.StatusCode)
}

// Is maps the status code to the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.notFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrGone:
		return e.StatusCode == http.StatusGone
	}
	return false
}

// Temporary reports whether retrying the same call may succeed: 408, 429,
// and every 5xx that does not mean "not found".
func (e *APIError) Temporary() bool {
	switch {
	case e.notFound:
		return false
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests:
		return true
	case e.StatusCode >= 500:
		return true
	}
	return false
}

// notFoundMessages are the 500 bodies the real service answers for a missing
// sprite (recorded, server v0.0.1-rc31), and the text of an unknown checkpoint.
var notFoundMessages = []string{
	"failed to retrieve sprite",
	"failed to delete sprite",
	"sprite not found",
	"checkpoint not found",
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// DecodeError builds the *APIError for a non-2xx response and closes nothing;
// the caller closes resp.Body. It is the one HTTP error decoder of the client.
func DecodeError(op string, resp *http.Response) *APIError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{StatusCode: resp.StatusCode, Op: op}
	if err := json.Unmarshal(raw, &e.Body); err == nil {
		e.Message = summarize(e.Body)
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(raw))
	}
	if e.Body.RetryAfterSeconds > 0 {
		e.RetryAfter = retryAfterSeconds(e.Body.RetryAfterSeconds)
	} else if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			e.RetryAfter = retryAfterSeconds(n)
		}
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusNotFound {
		lower := strings.ToLower(e.Message)
		for _, m := range notFoundMessages {
			if strings.Contains(lower, m) {
				e.notFound = true
				break
			}
		}
	}
	if e.Body.Code == "ENOENT" {
		e.notFound = true
	}
	return e
}

// maxRetryAfter caps a server's requested wait; a huge value would
// otherwise overflow time.Duration into a negative wait.
const maxRetryAfter = 24 * time.Hour

func retryAfterSeconds(n int) time.Duration {
	if n >= int(maxRetryAfter/time.Second) {
		return maxRetryAfter
	}
	return time.Duration(n) * time.Second
}

func summarize(b ErrorBody) string {
	parts := make([]string, 0, 3)
	if b.Error != "" {
		parts = append(parts, b.Error)
	}
	if b.Message != "" && b.Message != b.Error {
		parts = append(parts, b.Message)
	}
	parts = append(parts, b.Errors...)
	if b.Path != "" {
		parts = append(parts, "path "+b.Path)
	}
	return strings.Join(parts, ": ")
}

// IsNotFound reports whether err means the sprite, checkpoint, session or
// file does not exist, including the 500 answers the real service gives
// for a missing sprite.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a 409, e.g. a duplicate sprite name.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsRateLimited reports whether err is a 429; RetryAfter on the *APIError
// says how long the service asked to wait.
func IsRateLimited(err error) bool { return errors.Is(err, ErrRateLimited) }

// IsRetryable reports whether repeating the call may succeed: an *APIError
// whose Temporary is true, or a transport failure (no answer at all).
// Exec that lost its socket is not retryable: the command may have run.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var lost *ConnectionLostError
	if errors.As(err, &lost) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var urlErr *url.Error
	var netErr net.Error
	return errors.As(err, &urlErr) || errors.As(err, &netErr)
}
