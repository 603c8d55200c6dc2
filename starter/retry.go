package starter

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// DefaultContinuingRetry bounds how long one call keeps retrying while its
// session refuses new work to move to a new run (see
// workflows.ErrTypeContinuing). A session drains in well under a second
// unless a long operation (an exec of minutes) is still in flight.
const DefaultContinuingRetry = 30 * time.Second

// Backoff between retries of a call refused with ErrTypeContinuing: short at
// first, because a drain usually ends within a few workflow tasks.
const (
	continuingFirstDelay = 50 * time.Millisecond
	continuingMaxDelay   = time.Second
)

// continuingRetry is how a Client retries calls refused because the session
// is continuing as new.
type continuingRetry struct {
	budget time.Duration // 0: do not retry
	first  time.Duration
	max    time.Duration
}

func defaultContinuingRetry() continuingRetry {
	return continuingRetry{budget: DefaultContinuingRetry, first: continuingFirstDelay, max: continuingMaxDelay}
}

// WithContinuingRetry sets how long a call keeps retrying, transparently,
// while its session refuses new work to continue as new (default
// DefaultContinuingRetry). Raise it for sessions whose operations run for
// minutes, since the drain waits for them; 0 turns the retry off, and such a
// refusal then returns a *RejectedError with Continuing set at once. The
// call's context bounds the retry too.
func WithContinuingRetry(budget time.Duration) Option {
	return func(c *Client) { c.retry.budget = max(budget, 0) }
}

// do runs attempt until it returns anything but a refusal with
// workflows.ErrTypeContinuing, or the retry budget is spent, and returns the
// last attempt's error. When ctx ends first it stops at once and returns the
// context's cause as stopped too. Each attempt must send the same update ID:
// the refused update left nothing in history, and the ID keeps the call
// idempotent across the runs.
func (r continuingRetry) do(ctx context.Context, attempt func() error) (err, stopped error) {
	deadline := time.Now().Add(r.budget)
	delay := r.first
	for {
		last := attempt()
		if last == nil || !isContinuing(last) {
			return last, nil
		}
		// Jitter spreads callers that were refused together, so they do
		// not all come back in the same instant.
		wait := delay/2 + rand.N(delay/2+1)
		if time.Now().Add(wait).After(deadline) {
			return last, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return last, context.Cause(ctx)
		case <-timer.C:
		}
		delay = min(2*delay, r.max)
	}
}

// isContinuing reports a validator refusal that asks the caller to retry.
func isContinuing(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == workflows.ErrTypeContinuing
}
