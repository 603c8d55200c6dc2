package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// TestClassify_ErrorsWithoutAnHTTPAnswer covers the errors the HTTP tests
// cannot produce through a server.
func TestClassify_ErrorsWithoutAnHTTPAnswer(t *testing.T) {
	own := temporal.NewNonRetryableApplicationError("already classified", ErrTypeConflict, nil)
	for _, tc := range []struct {
		name      string
		err       error
		wantType  string // "" means returned unchanged
		retryable bool
	}{
		{"transport failure retries", &url.Error{Op: "Get", URL: "http://127.0.0.1:1", Err: errors.New("connection refused")}, ErrTypeUnavailable, true},
		{"refused before sending", fmt.Errorf("bad name: %w", sprites.ErrInvalid), ErrTypeInvalidArgument, false},
		{"lost exec socket", &sprites.ConnectionLostError{Err: errors.New("EOF")}, ErrTypeExecLost, false},
		{"lost exec socket by cancellation", &sprites.ConnectionLostError{Err: context.Canceled}, ErrTypeExecLost, false},
		{"not-found stream event", &sprites.StreamError{Op: "restore", Event: sprites.StreamEvent{Type: "error", Error: "checkpoint not found"}}, ErrTypeNotFound, false},
		{"unreadable answer retries", errors.New("decoding answer: unexpected EOF"), ErrTypeUnavailable, true},
		{"cancellation unchanged", fmt.Errorf("get: %w", context.Canceled), "", false},
		{"deadline unchanged", fmt.Errorf("get: %w", context.DeadlineExceeded), "", false},
		{"application error unchanged", own, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify("op", tc.err)
			if tc.wantType == "" {
				if got != tc.err {
					t.Fatalf("classify changed %v into %v", tc.err, got)
				}
				return
			}
			appError(t, got, tc.wantType, tc.retryable)
		})
	}
}

func TestClassify_NamesTheOperationOnce(t *testing.T) {
	op := "read /f in ss-x"
	cases := []struct {
		err  error
		want string
	}{
		{&sprites.APIError{Op: op, StatusCode: 400, Message: "bad path"}, "read /f in ss-x: bad path (status 400)"},
		{&sprites.APIError{Op: "get sprite ss-x", StatusCode: 400, Message: "bad"}, "read /f in ss-x: sprites: get sprite ss-x: bad (status 400)"},
		{errors.New("dial tcp: refused"), "read /f in ss-x: dial tcp: refused"},
	}
	for _, c := range cases {
		var appErr *temporal.ApplicationError
		if !errors.As(Classify(op, c.err), &appErr) {
			t.Fatalf("Classify(%v) is no application error", c.err)
		}
		if appErr.Message() != c.want {
			t.Errorf("Classify(%v) = %q, want %q", c.err, appErr.Message(), c.want)
		}
	}
}
