package starter

import (
	"context"
	"errors"
	"fmt"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Failures are built as the server hands them to the client and decoded by
// the SDK's own converter, so the tests see the same error chains a real
// update outcome produces.

func appFailure(msg, typ string, cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{Message: msg, Cause: cause, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
		ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: typ, NonRetryable: true}}}
}

func activityFailure(cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{Message: "activity error", Cause: cause, FailureInfo: &failurepb.Failure_ActivityFailureInfo{
		ActivityFailureInfo: &failurepb.ActivityFailureInfo{ActivityType: &commonpb.ActivityType{Name: "Exec"}, ActivityId: "5"}}}
}

func timeoutFailure() *failurepb.Failure {
	return &failurepb.Failure{Message: "activity StartToClose timeout", FailureInfo: &failurepb.Failure_TimeoutFailureInfo{
		TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}}}
}

func decoded(f *failurepb.Failure) error {
	return temporal.GetDefaultFailureConverter().FailureToError(f)
}

func TestClassify_ReturnsRejectedErrorWhenValidatorRejects(t *testing.T) {
	for name, err := range map[string]error{
		"as decoded":                decoded(appFailure(`invalid sprite_name "Bad"`, workflows.ErrTypeRejected, nil)),
		"wrapped by the call":       fmt.Errorf("update: %w", decoded(appFailure(`invalid sprite_name "Bad"`, workflows.ErrTypeRejected, nil))),
		"op named by the validator": decoded(appFailure(`CreateSprite rejected: invalid sprite_name "Bad"`, workflows.ErrTypeRejected, nil)),
	} {
		t.Run(name, func(t *testing.T) {
			got := classify(workflows.UpdateCreateSprite, "s1", err)
			var rej *RejectedError
			if !errors.As(got, &rej) {
				t.Fatalf("classify = %T %v, want *RejectedError", got, got)
			}
			if rej.Op != workflows.UpdateCreateSprite || rej.Message != `invalid sprite_name "Bad"` {
				t.Errorf("RejectedError = %+v", rej)
			}
			var opErr *OperationError
			if errors.As(got, &opErr) {
				t.Errorf("a rejection is also an OperationError: %v", opErr)
			}
		})
	}
}

func TestClassify_ReturnsOperationErrorWithStableType(t *testing.T) {
	cases := []struct {
		name     string
		failure  *failurepb.Failure
		wantType string
		wantMsg  string
	}{
		{
			name: "activity error wrapped by the workflow with fmt.Errorf",
			failure: appFailure("exec on sprite web: activity error", "wrapError",
				activityFailure(appFailure("sprite ss-1-web not found", "NotFound", nil))),
			wantType: "NotFound", wantMsg: "sprite ss-1-web not found",
		},
		{
			name:     "activity error returned as is",
			failure:  activityFailure(appFailure("name taken by another owner", "Conflict", nil)),
			wantType: "Conflict", wantMsg: "name taken by another owner",
		},
		{
			name: "type the workflow chose on purpose wins over its cause",
			failure: appFailure("sprite web is tainted", "Tainted",
				activityFailure(appFailure("restore stream ended early", "RestoreFailed", nil))),
			wantType: "Tainted", wantMsg: "sprite web is tainted",
		},
		{
			name:     "activity timeout",
			failure:  appFailure("checkpoint: activity error", "wrapError", activityFailure(timeoutFailure())),
			wantType: TypeTimeout,
		},
		{
			name:     "untyped workflow error",
			failure:  appFailure("something broke", "errorString", nil),
			wantType: TypeFailed, wantMsg: "something broke",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(workflows.UpdateExec, "s1", decoded(tc.failure))
			var opErr *OperationError
			if !errors.As(got, &opErr) {
				t.Fatalf("classify = %T %v, want *OperationError", got, got)
			}
			if opErr.Type != tc.wantType || opErr.Op != workflows.UpdateExec {
				t.Errorf("OperationError = %+v, want type %s", opErr, tc.wantType)
			}
			if tc.wantMsg != "" && opErr.Message != tc.wantMsg {
				t.Errorf("Message = %q, want %q", opErr.Message, tc.wantMsg)
			}
			var rej *RejectedError
			if errors.As(got, &rej) {
				t.Errorf("an operation failure is also a RejectedError")
			}
		})
	}
}

func TestClassify_KeepsTheSDKErrorChainReachable(t *testing.T) {
	got := classify(workflows.UpdateExec, "s1", decoded(
		appFailure("x", "wrapError", activityFailure(appFailure("gone", "NotFound", nil)))))
	var actErr *temporal.ActivityError
	if !errors.As(got, &actErr) {
		t.Errorf("errors.As(*temporal.ActivityError) failed on %v", got)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(got, &appErr) {
		t.Errorf("errors.As(*temporal.ApplicationError) failed on %v", got)
	}
}

func TestClassify_ReportsSessionStateFromServiceErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"no such workflow", serviceerror.NewNotFound("workflow not found"), ErrSessionNotFound},
		{"closed and reuse rejected", serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "r1"), ErrSessionClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(workflows.QueryDescribe, "s1", tc.err)
			if !errors.Is(got, tc.want) {
				t.Errorf("classify = %v, want it to wrap %v", got, tc.want)
			}
			var rej *RejectedError
			var opErr *OperationError
			if errors.As(got, &rej) || errors.As(got, &opErr) {
				t.Errorf("a session-state error is typed as rejection or operation failure: %v", got)
			}
		})
	}
}

func TestClassify_PassesTransportErrorsThrough(t *testing.T) {
	got := classify(workflows.UpdateExec, "s1", context.DeadlineExceeded)
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("classify = %v, want it to wrap context.DeadlineExceeded", got)
	}
	var opErr *OperationError
	if errors.As(got, &opErr) {
		t.Errorf("a transport error became an OperationError")
	}
}
