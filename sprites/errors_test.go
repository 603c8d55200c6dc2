package sprites

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDecodeError_MapsRecordedBodiesToSentinels(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		header      http.Header
		is          []error
		isNot       []error
		message     string
		retryAfter  time.Duration
		temporary   bool
	}{
		{
			name: "missing sprite on get answers 500", status: 500,
			body: `{"error":"failed to retrieve sprite"}`,
			is:   []error{ErrNotFound}, message: "failed to retrieve sprite",
		},
		{
			name: "missing sprite on delete answers 500", status: 500,
			body: `{"error":"failed to delete sprite"}`,
			is:   []error{ErrNotFound}, message: "failed to delete sprite",
		},
		{
			name: "other 500 is retryable, not missing", status: 500,
			body:  `{"error":"internal error"}`,
			isNot: []error{ErrNotFound}, temporary: true,
		},
		{
			name: "unknown checkpoint answers 500 text", status: 500, contentType: "text/plain",
			body: "Failed to get checkpoint: rpc error: checkpoint not found: v9\n",
			is:   []error{ErrNotFound}, message: "Failed to get checkpoint: rpc error: checkpoint not found: v9",
		},
		{
			name: "checkpoint on missing sprite", status: 404,
			body: `{"error":"sprite not found"}`, is: []error{ErrNotFound},
		},
		{
			name: "duplicate name", status: 409,
			body: `{"error":"A sprite named 'box' already exists. Please choose a different name."}`,
			is:   []error{ErrConflict}, isNot: []error{ErrNotFound},
		},
		{
			name: "validation list", status: 400,
			body: `{"errors":["invalid sprite name format"]}`,
			is:   []error{ErrInvalid}, message: "invalid sprite name format",
		},
		{
			name: "rate limit with retry_after_seconds wins over the header", status: 429,
			body:   `{"error":"sprite_creation_rate_limited","message":"Too many sprites created","limit":10,"window_seconds":60,"retry_after_seconds":17,"current_count":10,"upgrade_available":true,"upgrade_url":"https://sprites.dev/upgrade"}`,
			header: http.Header{"Retry-After": {"3"}},
			is:     []error{ErrRateLimited}, retryAfter: 17 * time.Second, temporary: true,
		},
		{
			name: "rate limit with only the header", status: 429,
			body:   `{"error":"concurrent_sprite_limit_exceeded"}`,
			header: http.Header{"Retry-After": {"5"}},
			is:     []error{ErrRateLimited}, retryAfter: 5 * time.Second, temporary: true,
		},
		{
			name: "filesystem ENOENT", status: 404,
			body: `{"error":"no such file or directory","code":"ENOENT","path":"/home/sprite/x"}`,
			is:   []error{ErrNotFound},
		},
		{
			name: "auth", status: 401, body: `{"error":"authentication failed"}`,
			is: []error{ErrUnauthorized},
		},
		{
			name: "kill of an exited session", status: 410, body: ``,
			is: []error{ErrGone}, message: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{
				StatusCode: tt.status,
				Header:     http.Header{},
				Body:       io.NopCloser(strings.NewReader(tt.body)),
			}
			for k, v := range tt.header {
				resp.Header[k] = v
			}
			e := DecodeError("op", resp)
			for _, target := range tt.is {
				if !errors.Is(e, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", e, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(e, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", e, target)
				}
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("Message = %q, want %q", e.Message, tt.message)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if got := IsRetryable(e); got != tt.temporary {
				t.Errorf("IsRetryable = %v, want %v", got, tt.temporary)
			}
		})
	}
}

func TestClient_NeverPutsTheTokenInAnError(t *testing.T) {
	// A server that echoes the credential it refused, in every field.
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		writeJSON(w, http.StatusForbidden, ErrorBody{
			Error: "token " + auth + " refused", Message: auth, Errors: []string{auth}, Path: auth,
		})
	}))
	_, err := c.GetSprite(context.Background(), "box")
	if err == nil {
		t.Fatal("GetSprite succeeded, want 403")
	}
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("err = %v, want ErrUnauthorized", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %T, want *APIError", err)
	}
	for _, s := range append([]string{err.Error(), apiErr.Body.Error, apiErr.Body.Message, apiErr.Body.Path}, apiErr.Body.Errors...) {
		if strings.Contains(s, testToken) || strings.Contains(s, "s3cr3t") {
			t.Errorf("error text %q contains the token", s)
		}
	}

	// Transport failures name the URL, which never carries the token.
	dead := New(testToken, WithBaseURL("http://127.0.0.1:1"))
	_, err = dead.GetSprite(context.Background(), "box")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("transport error = %v: want an error without the token", err)
	}
	if !IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = false, want true for a refused connection", err)
	}
}

func TestClient_SendsNoRequestForAnInvalidName(t *testing.T) {
	calls := 0
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		writeRaw(w, 200, "application/json", recordedSprite)
	}))
	ctx := context.Background()
	for _, name := range []string{"", "-box", "box-", "Box", "box_1", "box.1", strings.Repeat("a", 64), "b/ox"} {
		if _, err := c.GetSprite(ctx, name); !errors.Is(err, ErrInvalid) {
			t.Errorf("GetSprite(%q) = %v, want ErrInvalid", name, err)
		}
		if err := c.Command(name, "true").Run(ctx); !errors.Is(err, ErrInvalid) {
			t.Errorf("Run in %q = %v, want ErrInvalid", name, err)
		}
		if _, err := c.ReadFile(ctx, name, "x"); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadFile in %q = %v, want ErrInvalid", name, err)
		}
	}
	if calls != 0 {
		t.Errorf("server saw %d requests, want 0", calls)
	}
	for _, name := range []string{"a", "box-1", "0x", strings.Repeat("a", 63)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
}

// recordingTransport fails every request and remembers where it went.
type recordingTransport struct{ hosts []string }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.hosts = append(r.hosts, req.URL.Host)
	return nil, errors.New("recording transport: no network")
}

// TestClient_BadBaseURLFailsEveryCallWithoutSending makes sure a base URL
// that does not parse is not skipped in favour of the default server: the
// token meant for one server would go to another.
func TestClient_BadBaseURLFailsEveryCallWithoutSending(t *testing.T) {
	for _, base := range []string{"http://[::1", "localhost:8787", "ftp://example.test", "http://"} {
		t.Run(base, func(t *testing.T) {
			rt := &recordingTransport{}
			c := New(testToken, WithBaseURL(base), WithHTTPClient(&http.Client{Transport: rt}))
			ctx := context.Background()
			_, err := c.GetSprite(ctx, "box")
			if !errors.Is(err, ErrInvalid) || IsRetryable(err) {
				t.Errorf("GetSprite = %v, want a non-retryable ErrInvalid", err)
			}
			if err := c.Command("box", "true").Run(ctx); !errors.Is(err, ErrInvalid) {
				t.Errorf("Run = %v, want ErrInvalid", err)
			}
			if len(rt.hosts) != 0 {
				t.Errorf("requests went to %v", rt.hosts)
			}
		})
	}
}
