package starter

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// continuing is the refusal of a session draining for continue-as-new, as
// the SDK decodes it.
func continuing() error {
	return decoded(appFailure("ReadFile rejected: the session is moving to a new run; retry shortly", workflows.ErrTypeContinuing, nil))
}

// fastRetry keeps the real backoff loop but with millisecond delays.
func fastRetry(c *Client, budget time.Duration) {
	c.retry = continuingRetry{budget: budget, first: time.Millisecond, max: 2 * time.Millisecond}
}

func TestSession_RetriesARefusalWhileContinuingAsNewThenSucceeds(t *testing.T) {
	f := &fakeTemporal{
		answer:     workflows.ReadFileResponse{SpriteName: "web", Content: "hello"},
		updateErrs: []error{continuing(), continuing(), continuing()},
	}
	c := newClient(f)
	fastRetry(c, time.Minute)
	resp, err := c.Session("s-1").ReadFile(context.Background(), workflows.ReadFileRequest{SpriteName: "web", Path: "a"})
	if err != nil {
		t.Fatalf("ReadFile = %v, want the refusals retried away", err)
	}
	if resp.Content != "hello" {
		t.Errorf("response = %+v", resp)
	}
	if len(f.uws) != 4 || len(f.start) != 4 {
		t.Fatalf("%d update-with-start calls, %d start operations; want 4 of each", len(f.uws), len(f.start))
	}
	for i, u := range f.uws {
		if u.UpdateID != f.uws[0].UpdateID || u.UpdateName != workflows.UpdateReadFile {
			t.Errorf("attempt %d sent %s/%q, want the first attempt's %q", i, u.UpdateName, u.UpdateID, f.uws[0].UpdateID)
		}
	}
}

func TestSession_DoesNotRetryOtherErrors(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"validator rejection", decoded(appFailure("unknown sprite", workflows.ErrTypeRejected, nil)), func(t *testing.T, err error) {
			var rej *RejectedError
			if !errors.As(err, &rej) || rej.Continuing {
				t.Errorf("error = %#v, want a plain *RejectedError", err)
			}
		}},
		{"operation failure", decoded(appFailure("sprite not found", "NotFound", nil)), func(t *testing.T, err error) {
			var opErr *OperationError
			if !errors.As(err, &opErr) || opErr.Type != "NotFound" {
				t.Errorf("error = %v, want an OperationError NotFound", err)
			}
		}},
		{"server error", serviceerror.NewUnavailable("try later"), func(t *testing.T, err error) {
			var unavailable *serviceerror.Unavailable
			if !errors.As(err, &unavailable) {
				t.Errorf("error = %v, want the Unavailable error", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTemporal{answer: workflows.ExecResponse{}, updateErrs: []error{tc.err}}
			c := newClient(f)
			fastRetry(c, time.Minute)
			_, err := c.Session("s-1").Exec(context.Background(), workflows.ExecRequest{SpriteName: "web", Command: "true"})
			if err == nil {
				t.Fatal("Exec succeeded; the error was retried")
			}
			tc.check(t, err)
			if len(f.uws) != 1 {
				t.Errorf("%d attempts, want 1", len(f.uws))
			}
		})
	}
}

func TestSession_GivesUpOnContinuingAfterTheRetryBudget(t *testing.T) {
	f := &fakeTemporal{updateErr: continuing()}
	c := newClient(f)
	fastRetry(c, 20*time.Millisecond)
	_, err := c.Session("s-1").ReadFile(context.Background(), workflows.ReadFileRequest{SpriteName: "web", Path: "a"})
	var rej *RejectedError
	if !errors.As(err, &rej) || !rej.Continuing || rej.Op != workflows.UpdateReadFile {
		t.Fatalf("ReadFile = %#v, want a *RejectedError with Continuing", err)
	}
	if len(f.uws) < 2 {
		t.Errorf("%d attempts, want retries within the budget", len(f.uws))
	}
}

func TestSession_NoContinuingRetryWhenTurnedOff(t *testing.T) {
	f := &fakeTemporal{updateErr: continuing()}
	_, err := newClient(f, WithContinuingRetry(0)).Session("s-1").ReadFile(context.Background(), workflows.ReadFileRequest{SpriteName: "web", Path: "a"})
	var rej *RejectedError
	if !errors.As(err, &rej) || !rej.Continuing {
		t.Fatalf("ReadFile = %v, want a *RejectedError with Continuing", err)
	}
	if len(f.uws) != 1 {
		t.Errorf("%d attempts, want 1", len(f.uws))
	}
}

func TestSession_StopsRetryingWhenTheCallersContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeTemporal{updateErr: continuing()}
	f.onUpdate = func() {
		if len(f.uws) == 2 {
			cancel()
		}
	}
	c := newClient(f)
	// The budget outlasts the test: only the cancellation, made during the
	// second attempt, ends the retries.
	c.retry = continuingRetry{budget: time.Hour, first: time.Millisecond, max: time.Hour}
	_, err := c.Session("s-1").ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "web", Path: "a"})
	var rej *RejectedError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &rej) || !rej.Continuing {
		t.Fatalf("ReadFile = %v, want the Continuing rejection and context.Canceled", err)
	}
	if len(f.uws) != 2 {
		t.Errorf("%d attempts, want 2", len(f.uws))
	}
}
