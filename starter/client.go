// Package starter is the typed Go client for sprite sessions: other services
// import it to start and drive sessions without touching update names or
// payload shapes. It depends on the Temporal SDK only, never on the server.
//
// A session starts on its first call: every update is sent with
// Update-With-Start under the conflict policy USE_EXISTING, so the first call
// starts the session workflow and gets its answer in one round trip, and
// later calls are plain updates on the running workflow. EndSession is the
// exception: it is a plain update, because starting a session only to end it
// makes no sense, and it reports ErrSessionNotFound or ErrSessionClosed.
//
// A session ID names a conversation, not a single run. When a session has
// ended (EndSession, idle timeout, maximum lifetime) the next call with the
// same ID starts a fresh session with no sprites: the workflow ID reuse
// policy's default allows a new run after the previous one closed. An agent
// that comes back to an old conversation therefore keeps working; its first
// operation on an old sprite is rejected as unknown and it creates the
// sprite again. RejectClosedSessions turns this off for callers that want a
// closed session to stay closed (calls then fail with ErrSessionClosed while
// the server retains the closed run).
//
// When a session's history grows long it continues as new: it briefly stops
// admitting operations, lets those in flight finish, and moves its state to
// a new run. Calls refused meanwhile (workflows.ErrTypeContinuing) are
// retried with the same update ID, so callers never see the move; see
// WithContinuingRetry.
package starter

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// temporalClient is the part of client.Client the starter uses; tests fake it.
type temporalClient interface {
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	GetWorkflow(ctx context.Context, workflowID, runID string) client.WorkflowRun
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// Client starts and drives sessions over a Temporal client. It is safe for
// concurrent use.
type Client struct {
	tc           temporalClient
	taskQueue    string
	config       workflows.SessionConfig
	rejectClosed bool
	retry        continuingRetry
}

// Option configures a Client.
type Option func(*Client)

// WithTaskQueue sets the task queue new sessions run on (default
// workflows.DefaultTaskQueue). It must be the queue the worker polls.
func WithTaskQueue(queue string) Option {
	return func(c *Client) {
		if queue != "" {
			c.taskQueue = queue
		}
	}
}

// WithSessionConfig sets the limits of the sessions this client starts.
// A running session keeps the limits it started with.
func WithSessionConfig(cfg workflows.SessionConfig) Option {
	return func(c *Client) { c.config = cfg }
}

// RejectClosedSessions makes a closed session's ID unusable: calls on it fail
// with ErrSessionClosed instead of starting a fresh session.
func RejectClosedSessions() Option {
	return func(c *Client) { c.rejectClosed = true }
}

// New returns a Client over c. It does no I/O.
func New(c client.Client, opts ...Option) *Client {
	return newClient(c, opts...)
}

func newClient(tc temporalClient, opts ...Option) *Client {
	c := &Client{tc: tc, taskQueue: workflows.DefaultTaskQueue, retry: defaultContinuingRetry()}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Session returns a handle on the session with this ID. It does no I/O: the
// session starts on the first update.
func (c *Client) Session(id string) *Session {
	return &Session{c: c, id: id, workflowID: workflows.SessionWorkflowID(id)}
}

// startOptions are the options a session's workflow starts with.
func (c *Client) startOptions(workflowID string) client.StartWorkflowOptions {
	opts := client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                c.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// No execution or run timeout on purpose: a server-side timeout
		// closes the workflow without running its cleanup; the session's
		// idle timeout and lifetime are timers inside the workflow.
	}
	if c.rejectClosed {
		opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	}
	return opts
}

// CallOption configures one call.
type CallOption func(*callOptions)

type callOptions struct {
	updateID string
}

// WithUpdateID sets the update's ID. Retrying a call with the same ID is
// idempotent: the session answers a repeated ID with the first answer
// instead of running the operation again. Without it every call gets a new
// random ID.
func WithUpdateID(id string) CallOption {
	return func(o *callOptions) { o.updateID = id }
}

func newCallOptions(op string, opts []CallOption) callOptions {
	var o callOptions
	for _, f := range opts {
		f(&o)
	}
	if o.updateID == "" {
		o.updateID = newUpdateID(op)
	}
	return o
}

// newUpdateID names the operation so the ID reads well in the Web UI.
func newUpdateID(op string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return op + "-" + hex.EncodeToString(b[:])
}
