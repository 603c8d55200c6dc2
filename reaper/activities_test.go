package reaper

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/sprite-sessions/sprite-sessions/activities"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

const testToken = "test-token-5f2c"

// spritesServer serves GET /v1/sprites from fixed pages keyed by
// continuation token, and GET /v1/sprites/{name} from a table.
type spritesServer struct {
	t      *testing.T
	pages  map[string]string // token -> JSON answer
	single map[string]string // name -> JSON sprite
	status int               // when non-zero, every list answers this status

	mu     sync.Mutex
	tokens []string // continuation tokens requested, in order
}

func (s *spritesServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"unauthorized"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet && r.URL.Path == "/v1/sprites" {
		tok := r.URL.Query().Get("continuation_token")
		s.mu.Lock()
		s.tokens = append(s.tokens, tok)
		s.mu.Unlock()
		if s.status != 0 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(s.status)
			_, _ = w.Write([]byte(`{"error":"slow down","retry_after_seconds":7}`))
			return
		}
		page, ok := s.pages[tok]
		if !ok {
			s.t.Errorf("unexpected continuation token %q", tok)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(page))
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/v1/sprites/"); ok && r.Method == http.MethodGet {
		if body, ok := s.single[name]; ok {
			_, _ = w.Write([]byte(body))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"sprite not found"}`))
		return
	}
	s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	w.WriteHeader(http.StatusNotFound)
}

func (s *spritesServer) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

func spriteJSON(t *testing.T, name string, labels []string, created string) string {
	t.Helper()
	m := map[string]any{"name": name, "status": "cold", "labels": labels}
	if created != "" {
		m["created_at"] = created
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pageJSON(hasMore bool, next *string, sprites ...string) string {
	tok := "null"
	if next != nil {
		b, _ := json.Marshal(*next)
		tok = string(b)
	}
	return `{"sprites":[` + strings.Join(sprites, ",") + `],"has_more":` + map[bool]string{true: "true", false: "false"}[hasMore] +
		`,"next_continuation_token":` + tok + `}`
}

func ptr(s string) *string { return &s }

// fleetServer is four pages: labelled and unlabelled sprites, an empty page
// in the middle that continues, and an empty last page that answers
// has_more:true with a null token (as the real service has).
func fleetServer(t *testing.T) (*spritesServer, *sprites.Client) {
	t.Helper()
	ours := workflows.OwnerLabels("default", "session/a")
	created := "2026-03-01T11:00:00.123456Z"
	srv := &spritesServer{t: t,
		pages: map[string]string{
			"": pageJSON(true, ptr("p2"),
				spriteJSON(t, "ss-a-one", ours, created),
				spriteJSON(t, "someone-elses", []string{"team:web"}, created),
				spriteJSON(t, "ss-other-ns", workflows.OwnerLabels("staging", "session/a"), created)),
			"p2": pageJSON(true, ptr("p3")),
			"p3": pageJSON(true, ptr("p4"),
				spriteJSON(t, "ss-a-slim", ours, ""),
				spriteJSON(t, "ss-managed-no-owner", []string{workflows.ManagedLabel}, created),
				spriteJSON(t, "owner-label-only", []string{workflows.OwnerLabel("default", "session/b")}, created)),
			"p4": pageJSON(true, nil),
			"p5": pageJSON(false, nil, spriteJSON(t, "ss-never-listed", ours, created)),
		},
		single: map[string]string{
			"ss-a-slim": spriteJSON(t, "ss-a-slim", ours, "2026-03-01T11:30:00Z"),
		},
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, sprites.New(testToken, sprites.WithBaseURL(hs.URL))
}

func activityEnv(t *testing.T, acts *Activities) *testsuite.TestActivityEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return env
}

func listManaged(t *testing.T, env *testsuite.TestActivityEnvironment, in ListManagedInput) (ListManagedOutput, error) {
	t.Helper()
	v, err := env.ExecuteActivity(reaperActs.ListManaged, in)
	if err != nil {
		return ListManagedOutput{}, err
	}
	var out ListManagedOutput
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func TestListManaged_ReturnsOnlyOurLabelledSpritesAcrossPages(t *testing.T) {
	srv, sc := fleetServer(t)
	env := activityEnv(t, NewActivities(sc, nil, "default"))

	out, err := listManaged(t, env, ListManagedInput{Namespace: "default", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := []ManagedSprite{
		{Name: "ss-a-one", OwnerWorkflowID: "session/a", CreatedAt: time.Date(2026, 3, 1, 11, 0, 0, 123456000, time.UTC)},
		{Name: "ss-a-slim", OwnerWorkflowID: "session/a", CreatedAt: time.Date(2026, 3, 1, 11, 30, 0, 0, time.UTC)},
	}
	if len(out.Sprites) != len(want) {
		t.Fatalf("sprites = %+v, want %+v", out.Sprites, want)
	}
	for i := range want {
		if out.Sprites[i].Name != want[i].Name || out.Sprites[i].OwnerWorkflowID != want[i].OwnerWorkflowID ||
			!out.Sprites[i].CreatedAt.Equal(want[i].CreatedAt) {
			t.Errorf("sprite %d = %+v, want %+v", i, out.Sprites[i], want[i])
		}
	}
	if out.Scanned != 6 || out.NextCursor != "" {
		t.Errorf("scanned %d, next cursor %q; want 6 and the listing complete", out.Scanned, out.NextCursor)
	}
	// The empty page with has_more:true and a null token ended the listing.
	if got := srv.requested(); !slices.Equal(got, []string{"", "p2", "p3", "p4"}) {
		t.Errorf("requested tokens %q, want \"\", p2, p3, p4 and nothing after the null token", got)
	}
}

func TestListManaged_StopsAtLimitAndResumesFromCursor(t *testing.T) {
	srv, sc := fleetServer(t)
	env := activityEnv(t, NewActivities(sc, nil, "default"))

	first, err := listManaged(t, env, ListManagedInput{Namespace: "default", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if first.Scanned != 3 || first.NextCursor != "p2" || len(first.Sprites) != 1 {
		t.Fatalf("first chunk = %+v, want 3 scanned, one of ours, cursor p2", first)
	}
	second, err := listManaged(t, env, ListManagedInput{Namespace: "default", Cursor: first.NextCursor, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if second.Scanned != 3 || second.NextCursor != "p4" || len(second.Sprites) != 1 || second.Sprites[0].Name != "ss-a-slim" {
		t.Fatalf("second chunk = %+v, want p2 (empty) and p3, cursor p4", second)
	}
	third, err := listManaged(t, env, ListManagedInput{Namespace: "default", Cursor: second.NextCursor, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if third.Scanned != 0 || third.NextCursor != "" || len(third.Sprites) != 0 {
		t.Fatalf("third chunk = %+v, want the empty null-token page to end the listing", third)
	}
	if got := srv.requested(); !slices.Equal(got, []string{"", "p2", "p3", "p4"}) {
		t.Errorf("requested tokens %q", got)
	}
}

func TestListManaged_FiltersByNamespace(t *testing.T) {
	_, sc := fleetServer(t)
	env := activityEnv(t, NewActivities(sc, nil, "staging"))
	out, err := listManaged(t, env, ListManagedInput{Namespace: "staging", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Sprites) != 1 || out.Sprites[0].Name != "ss-other-ns" {
		t.Errorf("sprites = %+v, want only the staging one", out.Sprites)
	}
}

func TestListManaged_RefusesAnotherNamespace(t *testing.T) {
	_, sc := fleetServer(t)
	env := activityEnv(t, NewActivities(sc, nil, "default"))
	_, err := listManaged(t, env, ListManagedInput{Namespace: "staging", Limit: 10})
	assertAppError(t, err, activities.ErrTypeInvalidArgument, true)
}

func TestListManaged_ClassifiesAPIErrors(t *testing.T) {
	t.Run("429 is retried after the server's delay", func(t *testing.T) {
		srv, sc := fleetServer(t)
		srv.status = http.StatusTooManyRequests
		env := activityEnv(t, NewActivities(sc, nil, "default"))
		_, err := listManaged(t, env, ListManagedInput{Namespace: "default", Limit: 10})
		appErr := assertAppError(t, err, activities.ErrTypeRateLimited, false)
		if appErr != nil && appErr.NextRetryDelay() != 7*time.Second {
			t.Errorf("NextRetryDelay = %v, want 7s", appErr.NextRetryDelay())
		}
	})
	t.Run("a refused token is not retried and not echoed", func(t *testing.T) {
		srv, _ := fleetServer(t)
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		const wrong = "wrong-token-9a9a"
		env := activityEnv(t, NewActivities(sprites.New(wrong, sprites.WithBaseURL(hs.URL)), nil, "default"))
		_, err := listManaged(t, env, ListManagedInput{Namespace: "default", Limit: 10})
		assertAppError(t, err, activities.ErrTypeUnauthorized, true)
		if err != nil && strings.Contains(err.Error(), wrong) {
			t.Errorf("error contains the token: %v", err)
		}
	})
}

func assertAppError(t *testing.T, err error, errType string, nonRetryable bool) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error = %v, want an application error of type %s", err, errType)
	}
	if appErr.Type() != errType || appErr.NonRetryable() != nonRetryable {
		t.Errorf("error type %q non-retryable %v, want %q %v (%v)", appErr.Type(), appErr.NonRetryable(), errType, nonRetryable, err)
	}
	return appErr
}

// describeClient answers DescribeWorkflowExecution from a table; every
// other method of client.Client is unimplemented (nil embedded interface).
type describeClient struct {
	client.Client
	answers map[string]func() (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

func (c *describeClient) DescribeWorkflowExecution(_ context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if runID != "" {
		return nil, errors.New("the reaper must ask about the current run")
	}
	return c.answers[id]()
}

func withStatus(st enums.WorkflowExecutionStatus) func() (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return func() (*workflowservice.DescribeWorkflowExecutionResponse, error) {
		return &workflowservice.DescribeWorkflowExecutionResponse{
			WorkflowExecutionInfo: &workflow.WorkflowExecutionInfo{Status: st},
		}, nil
	}
}

func failing(err error) func() (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return func() (*workflowservice.DescribeWorkflowExecutionResponse, error) { return nil, err }
}

func TestOwnerStatus_TellsRunningClosedAndMissingOwnersApart(t *testing.T) {
	tc := &describeClient{answers: map[string]func() (*workflowservice.DescribeWorkflowExecutionResponse, error){
		"session/running":    withStatus(enums.WORKFLOW_EXECUTION_STATUS_RUNNING),
		"session/terminated": withStatus(enums.WORKFLOW_EXECUTION_STATUS_TERMINATED),
		"session/timedout":   withStatus(enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT),
		"session/completed":  withStatus(enums.WORKFLOW_EXECUTION_STATUS_COMPLETED),
		"session/missing":    failing(serviceerror.NewNotFound("workflow not found")),
		"session/nostatus":   withStatus(enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED),
		"session/paused":     withStatus(enums.WORKFLOW_EXECUTION_STATUS_PAUSED),
		"session/continued":  withStatus(enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW),
		"session/future":     withStatus(enums.WorkflowExecutionStatus(99)),
		"session/outage":     failing(serviceerror.NewUnavailable("frontend down")),
		"session/nsmissing":  failing(serviceerror.NewNamespaceNotFound("default")),
	}}
	env := activityEnv(t, NewActivities(nil, tc, "default"))
	tests := []struct {
		owner      string
		wantStatus string
		wantClose  string
		wantErr    bool
	}{
		{"session/running", OwnerRunning, "", false},
		{"session/terminated", OwnerClosed, "Terminated", false},
		{"session/timedout", OwnerClosed, "TimedOut", false},
		{"session/completed", OwnerClosed, "Completed", false},
		{"session/missing", OwnerNotFound, "", false},
		{"session/nostatus", "", "", true},
		{"session/paused", OwnerRunning, "", false},
		{"session/continued", "", "", true},
		{"session/future", "", "", true},
		{"session/outage", "", "", true},
		{"session/nsmissing", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.owner, func(t *testing.T) {
			v, err := env.ExecuteActivity(reaperActs.OwnerStatus, OwnerStatusInput{Namespace: "default", WorkflowID: tt.owner})
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error, got none")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out OwnerStatusOutput
			if err := v.Get(&out); err != nil {
				t.Fatal(err)
			}
			if out.Status != tt.wantStatus || out.CloseStatus != tt.wantClose {
				t.Errorf("got %+v, want %s %s", out, tt.wantStatus, tt.wantClose)
			}
		})
	}
}

func TestOwnerStatus_RefusesAnotherNamespace(t *testing.T) {
	env := activityEnv(t, NewActivities(nil, &describeClient{}, "default"))
	_, err := env.ExecuteActivity(reaperActs.OwnerStatus, OwnerStatusInput{Namespace: "prod", WorkflowID: "session/x"})
	assertAppError(t, err, activities.ErrTypeInvalidArgument, true)
}
