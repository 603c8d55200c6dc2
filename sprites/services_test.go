package sprites

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestListAndGetService_DecodeState(t *testing.T) {
	c, mux := newMuxClient(t)
	const svc = `{"name":"web","cmd":"python3","args":["-m","http.server","8080"],"needs":[],"http_port":8080,` +
		`"state":{"name":"web","status":"running","pid":321,"started_at":"2026-01-31T12:00:00Z","restart_count":1}}`
	mux.HandleFunc("GET /v1/sprites/{name}/services", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/json", "["+svc+"]")
	})
	mux.HandleFunc("GET /v1/sprites/{name}/services/{svc}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("svc") != "web" {
			writeRaw(w, 404, "application/json", `{"error":"service not found"}`)
			return
		}
		writeRaw(w, 200, "application/json", svc)
	})
	list, err := c.ListServices(context.Background(), "box")
	if err != nil || len(list) != 1 || list[0].HTTPPort == nil || *list[0].HTTPPort != 8080 || list[0].State.Status != "running" {
		t.Fatalf("ListServices = %+v, %v", list, err)
	}
	s, err := c.GetService(context.Background(), "box", "web")
	if err != nil || s.Cmd != "python3" || s.State.RestartCount != 1 {
		t.Fatalf("GetService = %+v, %v", s, err)
	}
	if _, err := c.GetService(context.Background(), "box", "nope"); !IsNotFound(err) {
		t.Fatalf("missing service: err = %v, want ErrNotFound", err)
	}
}

func TestPutService_SendsTheDefinitionAndCollectsEvents(t *testing.T) {
	c, mux := newMuxClient(t)
	var body map[string]any
	mux.HandleFunc("PUT /v1/sprites/{name}/services/{svc}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Query().Get("duration") != "2s" {
			t.Errorf("query = %v", r.URL.Query())
		}
		writeRaw(w, 200, "application/x-ndjson", ndjson(
			`{"type":"started","timestamp":1769862024000}`,
			`{"type":"stdout","data":"Serving HTTP on 0.0.0.0 port 8080","timestamp":1769862024100}`,
			`{"type":"complete","timestamp":1769862026000,"log_files":{"combined":"/.sprite/logs/services/web.log"}}`,
		))
	})
	port := 8080
	events, err := c.PutService(context.Background(), "box", "web",
		Service{Cmd: "python3", Args: []string{"-m", "http.server"}, HTTPPort: &port}, 2*time.Second)
	if err != nil || len(events) != 3 || events[1].Data != "Serving HTTP on 0.0.0.0 port 8080" {
		t.Fatalf("PutService = %+v, %v", events, err)
	}
	if body["cmd"] != "python3" || body["http_port"] != float64(8080) {
		t.Errorf("body = %v", body)
	}
}

func TestPutService_SecondHTTPPortIsConflict(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("PUT /v1/sprites/{name}/services/{svc}", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 409, "text/plain", "another service already has an HTTP port configured")
	})
	if _, err := c.PutService(context.Background(), "box", "api", Service{Cmd: "x"}, 0); !IsConflict(err) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
}

func TestStartAndStopService_Streams(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		wantErr bool
		events  int
	}{
		{"complete", ndjson(`{"type":"started"}`, `{"type":"complete"}`), false, 2},
		{"log window that just ends", ndjson(`{"type":"stdout","data":"x"}`), false, 1},
		{"error event", ndjson(`{"type":"error","data":"exec: not found"}`), true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			var timeout, duration string
			mux.HandleFunc("POST /v1/sprites/{name}/services/{svc}/start", func(w http.ResponseWriter, r *http.Request) {
				duration = r.URL.Query().Get("duration")
				writeRaw(w, 200, "application/x-ndjson", tt.stream)
			})
			mux.HandleFunc("POST /v1/sprites/{name}/services/{svc}/stop", func(w http.ResponseWriter, r *http.Request) {
				timeout = r.URL.Query().Get("timeout")
				writeRaw(w, 200, "application/x-ndjson", tt.stream)
			})
			ev, err := c.StartService(context.Background(), "box", "web", time.Second)
			if (err != nil) != tt.wantErr || len(ev) != tt.events || duration != "1s" {
				t.Errorf("StartService = %d events, %v (duration %q)", len(ev), err, duration)
			}
			ev, err = c.StopService(context.Background(), "box", "web", 5*time.Second)
			if (err != nil) != tt.wantErr || len(ev) != tt.events || timeout != "5s" {
				t.Errorf("StopService = %d events, %v (timeout %q)", len(ev), err, timeout)
			}
		})
	}
}

func TestDeleteAndSignalService(t *testing.T) {
	c, mux := newMuxClient(t)
	var signalBody map[string]string
	mux.HandleFunc("DELETE /v1/sprites/{name}/services/{svc}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/sprites/{name}/services/signal", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&signalBody)
		if signalBody["name"] == "stopped" {
			writeRaw(w, 409, "text/plain", "service not running")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if err := c.DeleteService(context.Background(), "box", "web"); err != nil {
		t.Fatal(err)
	}
	if err := c.SignalService(context.Background(), "box", "web", "HUP"); err != nil || signalBody["signal"] != "HUP" {
		t.Fatalf("SignalService = %v, body %v", err, signalBody)
	}
	if err := c.SignalService(context.Background(), "box", "stopped", "HUP"); !errors.Is(err, ErrConflict) {
		t.Fatalf("signal of a stopped service = %v, want ErrConflict", err)
	}
}

func TestGetService_EscapesTheNameOnce(t *testing.T) {
	c, mux := newMuxClient(t)
	var got string
	mux.HandleFunc("GET /v1/sprites/{name}/services/{svc}", func(w http.ResponseWriter, r *http.Request) {
		got = r.PathValue("svc")
		writeRaw(w, 200, "application/json", `{"name":"a b%","cmd":"x"}`)
	})
	if _, err := c.GetService(context.Background(), "box", "a b%"); err != nil || got != "a b%" {
		t.Fatalf("GetService = %v; server saw %q, want %q", err, got, "a b%")
	}
}
