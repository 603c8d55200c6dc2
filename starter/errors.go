package starter

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// ErrSessionNotFound reports a session that was never started (or whose
// history the server no longer keeps).
var ErrSessionNotFound = errors.New("session not found")

// ErrSessionClosed reports a session that has ended. EndSession on an ended
// session returns it, so a retried End can treat it as done.
var ErrSessionClosed = errors.New("session closed")

// TypeFailed is the OperationError type of a failure that carried no stable
// type name.
const TypeFailed = "Failed"

// Types the starter gives to failures that are not application errors.
const (
	TypeTimeout  = "Timeout"
	TypeCanceled = "Canceled"
)

// RejectedError is a request the session refused before doing anything: its
// validator found the input bad (or the starter did, for a bad session ID).
// Nothing was written to the session's history and the session keeps working.
type RejectedError struct {
	// Op is the update or query name.
	Op string
	// Message is the validator's explanation.
	Message string
	// Err is the error as the SDK returned it (nil when the starter rejected
	// the call itself).
	Err error
	// Continuing is set when the session refused the call only because it
	// was moving to a new run (workflows.ErrTypeContinuing) and went on
	// refusing for the whole retry budget, or until the call's context
	// ended: the same call can succeed later.
	Continuing bool
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s rejected: %s", e.Op, e.Message)
}

func (e *RejectedError) Unwrap() error { return e.Err }

// OperationError is an accepted request that failed while it ran, usually
// because the Sprites API answered with an error the activities classified.
type OperationError struct {
	// Op is the update name.
	Op string
	// Type is the stable failure type: one of the activity error types
	// (NotFound, Conflict, InvalidArgument, RateLimited, ...), TypeTimeout,
	// TypeCanceled, or TypeFailed when the failure carried no type.
	Type string
	// Message explains the failure.
	Message string
	// Err is the error chain as the SDK returned it; errors.As reaches the
	// underlying *temporal.ApplicationError or *temporal.ActivityError.
	Err error
}

func (e *OperationError) Error() string {
	return fmt.Sprintf("%s failed (%s): %s", e.Op, e.Type, e.Message)
}

func (e *OperationError) Unwrap() error { return e.Err }

// classify turns an error from an update or query into a RejectedError, an
// OperationError, an error wrapping ErrSessionNotFound, or err with context.
func classify(op, sessionID string, err error) error {
	if err == nil {
		return nil
	}
	if rej, ok := rejection(op, err); ok {
		return rej
	}
	if opErr, ok := operationFailure(op, err); ok {
		return opErr
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("%s on session %q: %w (%w)", op, sessionID, ErrSessionNotFound, err)
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		// Only reachable with RejectClosedSessions: the ID's last run closed
		// and the reuse policy forbids another.
		return fmt.Errorf("%s on session %q: %w (%w)", op, sessionID, ErrSessionClosed, err)
	}
	return fmt.Errorf("%s on session %q: %w", op, sessionID, err)
}

// rejection finds a validator rejection anywhere in err's chain.
func rejection(op string, err error) (*RejectedError, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		app, ok := e.(*temporal.ApplicationError)
		if ok && (app.Type() == workflows.ErrTypeRejected || app.Type() == workflows.ErrTypeContinuing) {
			// Validators may name the update themselves; say it once.
			msg := strings.TrimPrefix(app.Message(), op+" rejected: ")
			return &RejectedError{Op: op, Message: msg, Err: err, Continuing: app.Type() == workflows.ErrTypeContinuing}, true
		}
	}
	return nil, false
}

// operationFailure reads the type of a failure the session reported. The
// outermost typed failure wins: the workflow wraps activity errors with
// fmt.Errorf (which crosses the wire as an untyped Go error name, such as
// "wrapError"), so the first stable name met is the activity's own
// classification, or a type the workflow chose on purpose.
func operationFailure(op string, err error) (*OperationError, bool) {
	isFailure := false
	fallback := ""
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *temporal.ApplicationError:
			isFailure = true
			if stableType(x.Type()) {
				return &OperationError{Op: op, Type: x.Type(), Message: x.Message(), Err: err}, true
			}
			if fallback == "" {
				fallback = x.Message()
			}
		case *temporal.TimeoutError:
			return &OperationError{Op: op, Type: TypeTimeout, Message: x.Error(), Err: err}, true
		case *temporal.CanceledError:
			return &OperationError{Op: op, Type: TypeCanceled, Message: x.Error(), Err: err}, true
		case *temporal.ActivityError, *temporal.PanicError, *temporal.ServerError:
			isFailure = true
		}
	}
	if !isFailure {
		return nil, false
	}
	if fallback == "" {
		fallback = err.Error()
	}
	return &OperationError{Op: op, Type: TypeFailed, Message: fallback, Err: err}, true
}

// stableType tells a type name chosen by our code (NotFound, Conflict) from
// one the SDK derived from an unexported Go error type (wrapError,
// errorString).
func stableType(t string) bool {
	for _, r := range t {
		return unicode.IsUpper(r)
	}
	return false
}
