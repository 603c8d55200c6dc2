package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Stable application error types. Workflows and callers match on these.
const (
	ErrTypeNotFound        = "NotFound"
	ErrTypeConflict        = "Conflict"
	ErrTypeInvalidArgument = "InvalidArgument"
	ErrTypeUnauthorized    = "Unauthorized"
	ErrTypeRateLimited     = "RateLimited"
	ErrTypeUnavailable     = "Unavailable"
	// ErrTypeExecLost: the exec socket was lost and the command's outcome is
	// unknown; it is never run again.
	ErrTypeExecLost = "ExecLost"
	// ErrTypeWorkerStopping: the worker began stopping while a command ran;
	// the command keeps running and the retry re-attaches to its session.
	ErrTypeWorkerStopping = "WorkerStopping"
	// ErrTypeCheckpointFailed / ErrTypeRestoreFailed: the stream reported an
	// error event or ended without completing.
	ErrTypeCheckpointFailed = "CheckpointFailed"
	ErrTypeRestoreFailed    = "RestoreFailed"
)

// nonRetryable builds an error that no retry policy repeats.
func nonRetryable(errType, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), errType,
		temporal.ApplicationErrorOptions{NonRetryable: true})
}

// retryable builds an error the workflow's retry policy repeats.
func retryable(errType, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), errType,
		temporal.ApplicationErrorOptions{})
}

// Classify turns an error of the sprites client into the activity's error:
// the one place that decides what is retried. op says what was attempted
// ("create sprite x"); the client's errors never carry the token, and
// nothing here adds it.
//
//   - a missing resource (404, or a 5xx that says "not found") is NotFound;
//   - 429 is RateLimited, retried after the server's retry_after_seconds;
//   - 408, other 5xx and transport failures are Unavailable, retried;
//   - 401/403 Unauthorized, 409 Conflict, other 4xx InvalidArgument: not
//     retried, repeating the call cannot change the answer;
//   - cancellation and deadlines are returned as they are, so that the SDK
//     reports them as such.
func Classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var lost *sprites.ConnectionLostError
		if !errors.As(err, &lost) {
			return err
		}
	}
	msg := describe(op, err)
	var apiErr *sprites.APIError
	if errors.As(err, &apiErr) {
		switch {
		case errors.Is(err, sprites.ErrNotFound):
			return nonRetryable(ErrTypeNotFound, "%s", msg)
		case apiErr.StatusCode == http.StatusTooManyRequests:
			return temporal.NewApplicationErrorWithOptions(msg, ErrTypeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: apiErr.RetryAfter})
		case apiErr.StatusCode == http.StatusRequestTimeout, apiErr.StatusCode >= 500:
			return retryable(ErrTypeUnavailable, "%s", msg)
		case errors.Is(err, sprites.ErrUnauthorized):
			return nonRetryable(ErrTypeUnauthorized, "%s", msg)
		case errors.Is(err, sprites.ErrConflict):
			return nonRetryable(ErrTypeConflict, "%s", msg)
		case apiErr.StatusCode >= 400:
			return nonRetryable(ErrTypeInvalidArgument, "%s", msg)
		}
		// A 1xx/3xx the client did not expect: the service misbehaved.
		return retryable(ErrTypeUnavailable, "%s", msg)
	}
	var lost *sprites.ConnectionLostError
	switch {
	case errors.As(err, &lost):
		return nonRetryable(ErrTypeExecLost, "%s", msg)
	case errors.Is(err, sprites.ErrInvalid):
		// Refused by the client before sending, e.g. a bad sprite name.
		return nonRetryable(ErrTypeInvalidArgument, "%s", msg)
	case errors.Is(err, sprites.ErrNotFound):
		// A stream error event that says "not found".
		return nonRetryable(ErrTypeNotFound, "%s", msg)
	}
	// Transport failures and unreadable answers: the next call may work.
	return retryable(ErrTypeUnavailable, "%s", msg)
}

// classifyStream is Classify for a checkpoint or restore call, whose stream
// can fail under HTTP 200: a failure event that says "not found" is
// NotFound, any other failed stream is failType and retried (a server-side
// failure; a retried checkpoint takes another one, which is harmless).
func classifyStream(op, failType string, err error) error {
	var streamErr *sprites.StreamError
	if errors.As(err, &streamErr) {
		if errors.Is(err, sprites.ErrNotFound) {
			return nonRetryable(ErrTypeNotFound, "%s", describe(op, err))
		}
		return retryable(failType, "%s", describe(op, err))
	}
	return Classify(op, err)
}

// describe says what failed: op and the error, once. The client's errors
// mostly name the operation already ("sprites: read /f in ss-x: ..."); when
// that is op, the client's words stand alone.
func describe(op string, err error) string {
	text := err.Error()
	if rest, ok := strings.CutPrefix(text, "sprites: "); ok && strings.HasPrefix(rest, op+":") {
		return rest
	}
	return op + ": " + text
}

// invalid reports a bad input; retrying it cannot help.
func invalid(format string, args ...any) error {
	return nonRetryable(ErrTypeInvalidArgument, format, args...)
}
