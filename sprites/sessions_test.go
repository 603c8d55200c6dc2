package sprites

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestListSessions_DecodesBothAnswerShapes(t *testing.T) {
	const session = `{"id":1847,"command":"sleep 100","workdir":"/home/sprite","created":"2026-01-31T12:20:24Z",` +
		`"bytes_per_second":0.5,"is_active":false,"last_activity":"2026-01-31T12:21:00Z","tty":true}`
	tests := []struct{ name, body string }{
		{"object as the official clients read it", `{"sessions":[` + session + `]}`},
		{"bare array as older docs show", "[" + session + "]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("GET /v1/sprites/{name}/exec", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, 200, "application/json", tt.body)
			})
			list, err := c.ListSessions(context.Background(), "box")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].ID != 1847 || list[0].Command != "sleep 100" || !list[0].TTY || list[0].IsActive {
				t.Errorf("sessions = %+v", list)
			}
		})
	}
}

func TestListSessions_MissingSpriteIsNotFound(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/exec", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 404, "application/json", `{"error":"sprite not found"}`)
	})
	if _, err := c.ListSessions(context.Background(), "gone"); !IsNotFound(err) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestKillSession_SendsOptionsAndReadsTheStream(t *testing.T) {
	c, mux := newMuxClient(t)
	var signal, timeout string
	mux.HandleFunc("POST /v1/sprites/{name}/exec/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "1847" {
			t.Errorf("id = %q", r.PathValue("id"))
		}
		signal, timeout = r.URL.Query().Get("signal"), r.URL.Query().Get("timeout")
		writeRaw(w, 200, "application/x-ndjson", ndjson(
			`{"type":"signal","message":"Signaling SIGTERM to process group 1847","signal":"SIGTERM","pid":1847}`,
			`{"type":"exited","message":"Process exited"}`,
			`{"type":"complete","exit_code":0}`,
		))
	})
	if err := c.KillSession(context.Background(), "box", 1847, "SIGTERM", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if signal != "SIGTERM" || timeout != "3s" {
		t.Errorf("signal %q timeout %q", signal, timeout)
	}
}

func TestKillSession_Answers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantErr  bool
		notFound bool
	}{
		{"410 means already exited", 410, `{"error":"session already exited"}`, false, false},
		{"404 is not success", 404, `404 page not found`, true, true},
		{"error event", 200, `{"type":"error","message":"operation not permitted"}` + "\n", true, false},
		{"stream without complete", 200, `{"type":"signal","message":"Signaling SIGTERM"}` + "\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("POST /v1/sprites/{name}/exec/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, tt.status, "application/json", tt.body)
			})
			err := c.KillSession(context.Background(), "box", 1, "", 0)
			if (err != nil) != tt.wantErr || IsNotFound(err) != tt.notFound {
				t.Fatalf("err = %v, want error %v, not found %v", err, tt.wantErr, tt.notFound)
			}
		})
	}
	// A wrong path answers the mux's plain 404; that must fail too.
	c, _ := newMuxClient(t)
	if err := c.KillSession(context.Background(), "box", 1, "", 0); err == nil || errors.Is(err, ErrGone) {
		t.Fatalf("kill on an unrouted path = %v, want an error", err)
	}
}
