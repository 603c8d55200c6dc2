package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestNormaliseRoute_ReplacesIdentifiers(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/v1/sprites", "/v1/sprites"},
		{"/v1/sprites/", "/v1/sprites"},
		{"/v1/sprites/ss-abc123-dev", "/v1/sprites/{name}"},
		{"/v1/sprites/ss-abc/checkpoint", "/v1/sprites/{name}/checkpoint"},
		{"/v1/sprites/ss-abc/checkpoints", "/v1/sprites/{name}/checkpoints"},
		{"/v1/sprites/ss-abc/checkpoints/v12", "/v1/sprites/{name}/checkpoints/{checkpoint}"},
		{"/v1/sprites/ss-abc/checkpoints/v12/restore", "/v1/sprites/{name}/checkpoints/{checkpoint}/restore"},
		{"/v1/sprites/ss-abc/exec", "/v1/sprites/{name}/exec"},
		{"/v1/sprites/ss-abc/exec/4242", "/v1/sprites/{name}/exec/{session}"},
		{"/v1/sprites/ss-abc/exec/4242/kill", "/v1/sprites/{name}/exec/{session}/kill"},
		{"/v1/sprites/ss-abc/fs/read", "/v1/sprites/{name}/fs/read"},
		{"/v1/sprites/ss-abc/services/web/start", "/v1/sprites/{name}/services/{service}/start"},
		{"/v1/sprites/ss-abc/services/signal", "/v1/sprites/{name}/services/signal"},
		{"/v1/sprites/ss-abc/ports/watch", "/v1/sprites/{name}/ports/watch"},
		{"/v1/sprites/ss-abc/policy/network", "/v1/sprites/{name}/policy/network"},
		{"/v1/sprites/ss-abc/something/unknown", "/v1/sprites/{name}/{id}/{id}"},
		{"/v1/sprites/a/b/c/d/e/f/g", "other"},
		{"/v1/organization", "other"},
		{"/", "other"},
	}
	for _, tt := range tests {
		if got := normaliseRoute(tt.path); got != tt.want {
			t.Errorf("normaliseRoute(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

const transportToken = "sk-transport-1f7e2d"

// apiServer answers the few Sprites routes the transport test calls.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	sprite := `{"name":"ss-private-name-77","status":"cold","created_at":"2026-03-01T11:00:00Z"}`
	mux.HandleFunc("POST /v1/sprites", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(sprite))
	})
	mux.HandleFunc("GET /v1/sprites", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"rate limited","retry_after_seconds":3}`))
	})
	mux.HandleFunc("GET /v1/sprites/{name}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(sprite))
	})
	mux.HandleFunc("DELETE /v1/sprites/{name}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoints/{id}/restore", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = w.Write([]byte(`{"type":"info","data":"Restoring from checkpoint v3..."}` + "\n" +
			`{"type":"complete","data":"Restore from v3 complete"}` + "\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestInstrumentTransport_CountsByRouteAndStatusWithoutSecrets(t *testing.T) {
	m := NewMetrics()
	srv := apiServer(t)
	sc := sprites.New(transportToken, sprites.WithBaseURL(srv.URL),
		sprites.WithHTTPClient(&http.Client{Transport: InstrumentTransport(nil, m.Handler())}))
	ctx := context.Background()
	const name = "ss-private-name-77"

	if _, err := sc.CreateSprite(ctx, sprites.CreateRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.GetSprite(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := sc.RestoreCheckpoint(ctx, name, "v3", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.ListSprites(ctx, sprites.ListOptions{MaxResults: 1}); !sprites.IsRateLimited(err) {
		t.Fatalf("list: err = %v, want the 429", err)
	}
	if err := sc.DeleteSprite(ctx, name); err != nil {
		t.Fatal(err)
	}

	out := scrape(t, m)
	wantLines(t, out,
		`sprite_sessions_sprites_api_requests_total{method="POST",route="/v1/sprites",status="201"} 1`,
		`sprite_sessions_sprites_api_requests_total{method="GET",route="/v1/sprites/{name}",status="200"} 1`,
		`sprite_sessions_sprites_api_requests_total{method="POST",route="/v1/sprites/{name}/checkpoints/{checkpoint}/restore",status="200"} 1`,
		`sprite_sessions_sprites_api_requests_total{method="GET",route="/v1/sprites",status="429"} 1`,
		`sprite_sessions_sprites_api_requests_total{method="DELETE",route="/v1/sprites/{name}",status="204"} 1`,
		`sprite_sessions_sprites_api_request_duration_seconds_count{method="POST",route="/v1/sprites/{name}/checkpoints/{checkpoint}/restore",status="200"} 1`,
		`sprite_sessions_sprites_api_request_duration_seconds_count{method="GET",route="/v1/sprites",status="429"} 1`,
		`sprite_sessions_sprites_created_total 1`,
		`sprite_sessions_sprites_deleted_total 1`,
		`sprite_sessions_sprites_live 0`,
	)
	for _, secret := range []string{transportToken, name, "v3", srv.URL} {
		if strings.Contains(out, secret) {
			t.Errorf("scrape contains %q", secret)
		}
	}
}

func TestInstrumentTransport_LabelsTransportFailures(t *testing.T) {
	m := NewMetrics()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	sc := sprites.New(transportToken, sprites.WithBaseURL(url),
		sprites.WithHTTPClient(&http.Client{Transport: InstrumentTransport(nil, m.Handler())}))
	if _, err := sc.GetSprite(context.Background(), "ss-x"); err == nil {
		t.Fatal("get succeeded against a closed server")
	}
	wantLines(t, scrape(t, m),
		`sprite_sessions_sprites_api_requests_total{method="GET",route="/v1/sprites/{name}",status="error"} 1`,
		`sprite_sessions_sprites_live 0`,
	)
}
