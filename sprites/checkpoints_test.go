package sprites

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ndjson joins recorded events into a stream body.
func ndjson(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// recordedCreateStream is the rc31 create stream; the ID is only in text.
func recordedCreateStream(id string) string {
	return ndjson(
		`{"type":"info","data":"Creating checkpoint...","time":"2026-01-31T12:20:23.912Z"}`,
		`{"type":"info","data":"Checkpoint created successfully","time":"2026-01-31T12:20:24.301Z"}`,
		`{"type":"info","data":"\nCheckpoint Details:","time":"2026-01-31T12:20:24.301Z"}`,
		`{"type":"info","data":"  ID: `+id+`","time":"2026-01-31T12:20:24.301Z"}`,
		`{"type":"info","data":"  Created: 2026-01-31 12:20:24","time":"2026-01-31T12:20:24.301Z"}`,
		`{"type":"info","data":"  Path: checkpoints/`+id+`","time":"2026-01-31T12:20:24.301Z"}`,
		`{"type":"complete","data":"Checkpoint `+id+` created successfully","time":"2026-01-31T12:20:24.302Z"}`,
	)
}

// checkpointList answers like the service: "Current" first, newest first.
func checkpointList(entries ...Checkpoint) string {
	raw := []string{`{"id":"Current","create_time":"","comment":"","is_auto":false}`}
	for _, e := range entries {
		b, _ := json.Marshal(e)
		raw = append(raw, string(b))
	}
	return "[" + strings.Join(raw, ",") + "]\n"
}

func TestCreateCheckpoint_ParsesTheIDFromTheStreamAndConfirmsIt(t *testing.T) {
	c, mux := newMuxClient(t)
	now := time.Now().UTC().Truncate(time.Second)
	var gotBody map[string]any
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&gotBody)
		writeRaw(w, 200, "application/x-ndjson", recordedCreateStream("v2"))
	})
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("includeAuto") {
			t.Errorf("includeAuto sent: %v", r.URL.RawQuery)
		}
		writeRaw(w, 200, "application/json", checkpointList(
			Checkpoint{ID: "v2", CreateTime: now, Comment: "before risky step"},
			Checkpoint{ID: "v1", CreateTime: now, Comment: "before risky step"},
			Checkpoint{ID: "v0", CreateTime: now.Add(-time.Hour)},
		))
	})
	var events []StreamEvent
	cp, err := c.CreateCheckpoint(context.Background(), "box", "before risky step", func(ev StreamEvent) {
		events = append(events, ev)
	})
	if err != nil {
		t.Fatalf("CreateCheckpoint: %v", err)
	}
	if cp.ID != "v2" || cp.Comment != "before risky step" || !cp.CreateTime.Equal(now) {
		t.Errorf("checkpoint = %+v, want v2 from the list", cp)
	}
	if len(events) != 7 || events[6].Type != "complete" {
		t.Errorf("progress saw %d events, want all 7", len(events))
	}
	if gotBody["comment"] != "before risky step" {
		t.Errorf("body = %v", gotBody)
	}
}

func TestCreateCheckpoint_UsesTheInfoLineWhenCompleteHasNoID(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/x-ndjson", ndjson(
			`{"type":"info","data":"  ID: v5"}`,
			`{"type":"complete","data":"done"}`,
		))
	})
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/json", checkpointList(Checkpoint{ID: "v5"}, Checkpoint{ID: "v4"}))
	})
	cp, err := c.CreateCheckpoint(context.Background(), "box", "", nil)
	if err != nil || cp.ID != "v5" {
		t.Fatalf("CreateCheckpoint = %+v, %v; want v5", cp, err)
	}
}

func TestCreateCheckpoint_FindsTheCheckpointByCommentWhenTheStreamNamesNone(t *testing.T) {
	c, mux := newMuxClient(t)
	now := time.Now().UTC()
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/x-ndjson", ndjson(`{"type":"info","data":"Saving filesystem state..."}`, `{"type":"complete","data":"ok"}`))
	})
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/json", checkpointList(
			Checkpoint{ID: "auto-1", CreateTime: now.Add(2 * time.Second), Comment: "mine", IsAuto: true},
			Checkpoint{ID: "v4", CreateTime: now.Add(time.Second), Comment: "other"},
			Checkpoint{ID: "v3", CreateTime: now, Comment: "mine"},
			Checkpoint{ID: "v2", CreateTime: now.Add(-time.Hour), Comment: "mine"},
		))
	})
	cp, err := c.CreateCheckpoint(context.Background(), "box", "mine", nil)
	if err != nil || cp.ID != "v3" {
		t.Fatalf("CreateCheckpoint = %+v, %v; want v3", cp, err)
	}
}

func TestCreateCheckpoint_FailsWhenTheStreamFails(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		truncated bool
	}{
		{"error event under 200", ndjson(
			`{"type":"info","data":"Creating checkpoint..."}`,
			`{"type":"error","error":"Failed to create checkpoint: disk full"}`,
		), false},
		{"stream without complete", ndjson(
			`{"type":"info","data":"Creating checkpoint..."}`,
			`{"type":"info","data":"  ID: v1"}`,
		), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, 200, "application/x-ndjson", tt.stream)
			})
			listed := false
			mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
				listed = true
				writeRaw(w, 200, "application/json", checkpointList(Checkpoint{ID: "v1"}))
			})
			cp, err := c.CreateCheckpoint(context.Background(), "box", "", nil)
			var se *StreamError
			if !errors.As(err, &se) || se.Truncated != tt.truncated || cp != nil {
				t.Fatalf("CreateCheckpoint = %+v, %v; want a *StreamError (truncated %v)", cp, err, tt.truncated)
			}
			if listed {
				t.Error("listed checkpoints after a failed stream")
			}
		})
	}
}

func TestCreateCheckpoint_FailsWhenTheParsedIDIsNotListed(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/x-ndjson", recordedCreateStream("v7"))
	})
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/json", checkpointList(Checkpoint{ID: "v6"}))
	})
	cp, err := c.CreateCheckpoint(context.Background(), "box", "", nil)
	if err == nil || cp == nil || cp.ID != "v7" {
		t.Fatalf("CreateCheckpoint = %+v, %v; want the parsed ID and an error", cp, err)
	}
}

func TestCreateCheckpoint_MissingSpriteIsNotFound(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 404, "application/json", `{"error":"sprite not found"}`)
	})
	if _, err := c.CreateCheckpoint(context.Background(), "gone", "", nil); !IsNotFound(err) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestRestoreCheckpoint_ReadsTheStreamToComplete(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoints/{id}/restore", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "v1" {
			t.Errorf("id = %q", r.PathValue("id"))
		}
		writeRaw(w, 200, "application/x-ndjson", ndjson(
			`{"type":"info","data":"Restoring from checkpoint v1...","time":"2026-01-31T12:21:00.1Z"}`,
			`{"type":"info","data":"Container components started successfully","time":"2026-01-31T12:21:00.9Z"}`,
			`{"type":"complete","data":"Restore from v1 complete","time":"2026-01-31T12:21:01.0Z"}`,
		))
	})
	n := 0
	if err := c.RestoreCheckpoint(context.Background(), "box", "v1", func(StreamEvent) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("progress saw %d events, want 3", n)
	}
}

func TestRestoreCheckpoint_FailsOnErrorEventOrTruncation(t *testing.T) {
	tests := []struct {
		name     string
		stream   string
		notFound bool
	}{
		{"unknown id: error event under 200", ndjson(
			`{"type":"info","data":"Restoring from checkpoint v9..."}`,
			`{"type":"error","error":"Failed to restore checkpoint: rpc error: checkpoint with path checkpoints/v9 not found"}`,
		), true},
		{"no complete", ndjson(`{"type":"info","data":"Restoring from checkpoint v1..."}`), false},
		{"empty body", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("POST /v1/sprites/{name}/checkpoints/{id}/restore", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, 200, "application/x-ndjson", tt.stream)
			})
			err := c.RestoreCheckpoint(context.Background(), "box", "v9", nil)
			var se *StreamError
			if !errors.As(err, &se) || IsNotFound(err) != tt.notFound {
				t.Fatalf("err = %v, want *StreamError with not-found %v", err, tt.notFound)
			}
		})
	}
}

func TestListCheckpoints_DropsCurrentAndPassesIncludeAuto(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("includeAuto") != "true" {
			t.Errorf("query = %q, want includeAuto=true", r.URL.RawQuery)
		}
		writeRaw(w, 200, "application/json", `[{"id":"Current","create_time":"2026-01-31T12:30:00Z"},`+
			`{"id":"v1","create_time":"2026-01-31T12:20:24Z","comment":"c","is_auto":false,"history":["v0"]},`+
			`{"id":"auto-20260131","create_time":"2026-01-31T12:00:00Z","is_auto":true},`+
			`{"id":"v0","create_time":"2026-01-31T11:00:00Z","is_auto":false}]`+"\n")
	})
	list, err := c.ListCheckpoints(context.Background(), "box", true)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cp := range list {
		ids = append(ids, cp.ID)
	}
	if fmt.Sprint(ids) != "[v1 auto-20260131 v0]" || !list[1].IsAuto || list[0].History[0] != "v0" {
		t.Errorf("list = %+v", list)
	}
}

func TestGetCheckpoint_DecodesAndMapsUnknownToNotFound(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "v1" {
			writeRaw(w, 200, "application/json", `{"id":"v1","create_time":"2026-01-31T12:20:24Z","comment":"c"}`)
			return
		}
		writeRaw(w, 500, "text/plain", "Failed to get checkpoint: rpc error: code = Unknown desc = checkpoint not found\n")
	})
	cp, err := c.GetCheckpoint(context.Background(), "box", "v1")
	if err != nil || cp.ID != "v1" || cp.Comment != "c" {
		t.Fatalf("GetCheckpoint = %+v, %v", cp, err)
	}
	if _, err := c.GetCheckpoint(context.Background(), "box", "v9"); !IsNotFound(err) {
		t.Fatalf("unknown id: err = %v, want ErrNotFound", err)
	}
}
