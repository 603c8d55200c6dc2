package sprites

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// testToken looks like a real token (org/id/secret) so that a leak is easy
// to spot in an error text.
const testToken = "acme/1ef8/s3cr3t-token-value"

// newTestClient starts a loopback server that refuses requests without the
// bearer token the way the service does, and a client pointed at it.
func newTestClient(t *testing.T, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeJSON(w, http.StatusUnauthorized, ErrorBody{Error: "authentication failed"})
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return New(testToken, WithBaseURL(srv.URL)), srv
}

// newMuxClient is newTestClient with a ServeMux the test fills.
func newMuxClient(t *testing.T) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	c, _ := newTestClient(t, mux)
	return c, mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRaw answers with a recorded body verbatim.
func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// recordedSprite is a sprite object as the service answered it (rc31).
const recordedSprite = `{"id":"sprite-0b6e5a8c-6f7d-4e4f-9a57-3c3f4b0c2d11","name":"box","organization":"acme",` +
	`"status":"cold","url":"https://box-j34t.sprites.app","url_settings":{"auth":"sprite"},` +
	`"created_at":"2026-01-31T12:20:24.123456Z","updated_at":"2026-01-31T12:20:24.123456Z",` +
	`"version":null,"environment_version":null,"labels":["team-a"],"last_running_at":null,"last_warming_at":null}`
