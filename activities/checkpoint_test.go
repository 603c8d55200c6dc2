package activities

import (
	"net/http"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestCheckpoint_ReturnsTheStreamedIDConfirmedByListing(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-main"})
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	for _, want := range []string{"v1", "v2"} {
		val, err := env.ExecuteActivity(acts.Checkpoint, CheckpointInput{ProviderName: "ss-abc-main", Comment: "before " + want})
		if err != nil {
			t.Fatalf("Checkpoint: %v", err)
		}
		var out CheckpointOutput
		if err := val.Get(&out); err != nil {
			t.Fatal(err)
		}
		if out.ID != want || out.CreatedAt.IsZero() {
			t.Errorf("output = %+v, want ID %s with a creation time", out, want)
		}
	}
	if n := f.count("GET /v1/sprites/ss-abc-main/checkpoints"); n != 2 {
		t.Errorf("%d confirming lists, want 2", n)
	}
}

func TestCheckpoint_FailedStreamIsRetryableCheckpointFailed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"error event", []string{`{"type":"info","data":"Creating checkpoint..."}`, `{"type":"error","error":"disk full"}`}},
		{"no complete event", []string{`{"type":"info","data":"Creating checkpoint..."}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.addSprite(sprites.Sprite{Name: "ss-abc-main"})
			f.checkpointStream = tc.lines
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			_, err := env.ExecuteActivity(acts.Checkpoint, CheckpointInput{ProviderName: "ss-abc-main"})
			appError(t, err, ErrTypeCheckpointFailed, true)
		})
	}
}

func TestCheckpoint_MissingSpriteIsNotFound(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.Checkpoint, CheckpointInput{ProviderName: "ss-gone"})
	appError(t, err, ErrTypeNotFound, false)
}

func TestCheckpoint_UnconfirmedButNamedCheckpointIsNotTakenTwice(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-main"})
	f.queue("GET /v1/sprites/ss-abc-main/checkpoints", http.StatusBadGateway, "bad gateway")
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	val, err := env.ExecuteActivity(acts.Checkpoint, CheckpointInput{ProviderName: "ss-abc-main"})
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	var out CheckpointOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if out.ID != "v1" {
		t.Errorf("ID = %q, want the streamed v1", out.ID)
	}
}

func TestRestore_Outcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sprite   bool
		lines    []string
		wantType string // "" means success
		retry    bool
	}{
		{name: "complete", sprite: true},
		{name: "unknown checkpoint is not found", sprite: true, wantType: ErrTypeNotFound,
			lines: []string{`{"type":"info","data":"Restoring from checkpoint v9..."}`,
				`{"type":"error","error":"Failed to restore checkpoint: checkpoint with path checkpoints/v9 not found"}`}},
		{name: "other error event retries", sprite: true, wantType: ErrTypeRestoreFailed, retry: true,
			lines: []string{`{"type":"error","error":"container failed to start"}`}},
		{name: "stream without complete retries", sprite: true, wantType: ErrTypeRestoreFailed, retry: true,
			lines: []string{`{"type":"info","data":"Restoring from checkpoint v1..."}`}},
		{name: "missing sprite is not found", wantType: ErrTypeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			if tc.sprite {
				f.addSprite(sprites.Sprite{Name: "ss-abc-main"})
			}
			f.restoreStream = tc.lines
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			_, err := env.ExecuteActivity(acts.Restore, RestoreInput{ProviderName: "ss-abc-main", CheckpointID: "v1"})
			if tc.wantType == "" {
				if err != nil {
					t.Fatalf("Restore: %v", err)
				}
				if n := f.count("POST /v1/sprites/ss-abc-main/checkpoints/v1/restore"); n != 1 {
					t.Errorf("%d restore requests, want 1", n)
				}
				return
			}
			appError(t, err, tc.wantType, tc.retry)
		})
	}
}
