package spritestest

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// userCheckpointID is the form of the IDs user checkpoints get: v0, v1, ...
var userCheckpointID = regexp.MustCompile(`^v([0-9]+)$`)

func testCheckpoints(t *testing.T, s *suite) {
	c := s.Client
	name := s.newSprite(t, "cp")

	t.Run("ListHasV0AndNoCurrentAfterCreate", func(t *testing.T) {
		ids := s.checkpointIDs(t, name)
		if !slices.Contains(ids, "v0") {
			t.Errorf("checkpoints of a new sprite = %q, want v0 among them", ids)
		}
		if slices.Contains(ids, sprites.CurrentCheckpointID) {
			t.Errorf("checkpoints = %q: the Current pseudo-entry must be dropped", ids)
		}
	})

	var first string
	t.Run("CreateReturnsSequentialVersions", func(t *testing.T) {
		s.writeFile(t, name, "state.txt", "one")
		var events []sprites.StreamEvent
		cp, err := c.CreateCheckpoint(s.ctx, name, "first", func(ev sprites.StreamEvent) { events = append(events, ev) })
		if err != nil {
			t.Fatalf("CreateCheckpoint: %v", err)
		}
		n1 := versionOf(t, cp.ID)
		if n1 < 1 || cp.Comment != "first" {
			t.Errorf("first checkpoint = %+v, want v1 or later with comment \"first\"", cp)
		}
		if len(events) == 0 || events[len(events)-1].Type != "complete" {
			t.Errorf("progress saw %d events, the last %+v; want the stream through complete", len(events), lastEvent(events))
		}
		first = cp.ID
		second, err := c.CreateCheckpoint(s.ctx, name, "", nil)
		if err != nil {
			t.Fatalf("second CreateCheckpoint: %v", err)
		}
		if n2 := versionOf(t, second.ID); n2 != n1+1 {
			t.Errorf("second checkpoint = %s after %s, want v%d", second.ID, cp.ID, n1+1)
		}
		ids := s.checkpointIDs(t, name)
		if len(ids) < 3 || ids[0] != second.ID || ids[1] != cp.ID {
			t.Errorf("list = %q, want newest first: %s, %s, ..., v0", ids, second.ID, cp.ID)
		}
		got, err := c.GetCheckpoint(s.ctx, name, cp.ID)
		if err != nil {
			t.Fatalf("GetCheckpoint(%s): %v", cp.ID, err)
		}
		if got.ID != cp.ID || got.Comment != "first" {
			t.Errorf("GetCheckpoint(%s) = %+v", cp.ID, got)
		}
	})

	t.Run("RestoreBringsBackOldFiles", func(t *testing.T) {
		if first == "" {
			t.Skip("no checkpoint was created")
		}
		s.writeFile(t, name, "state.txt", "two")
		s.writeFile(t, name, "later/new.txt", "made after the checkpoint")
		if err := c.RestoreCheckpoint(s.ctx, name, first, nil); err != nil {
			t.Fatalf("RestoreCheckpoint(%s): %v", first, err)
		}
		if got := s.readFile(t, name, "state.txt"); got != "one" {
			t.Errorf("state.txt after restore = %q, want %q", got, "one")
		}
		if _, err := c.ReadFile(s.ctx, name, "later/new.txt"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("file made after the checkpoint: ReadFile = %v, want ErrNotFound", err)
		}
	})

	t.Run("RestoreEndsRunningSessions", func(t *testing.T) {
		if first == "" {
			t.Skip("no checkpoint was created")
		}
		run := s.startSession(t, name, "sleep", "60")
		if err := c.RestoreCheckpoint(s.ctx, name, first, nil); err != nil {
			t.Fatalf("RestoreCheckpoint(%s): %v", first, err)
		}
		if err := run.wait(t); err == nil {
			t.Error("sleep 60 exited 0 across a restore; want it ended by the restore")
		}
	})

	t.Run("RestoreIsNotFoundWhenIDUnknown", func(t *testing.T) {
		s.writeFile(t, name, "keep.txt", "kept")
		err := c.RestoreCheckpoint(s.ctx, name, "v999", nil)
		if !errors.Is(err, sprites.ErrNotFound) {
			t.Fatalf("RestoreCheckpoint(v999) = %v, want an error matching ErrNotFound", err)
		}
		if got := s.readFile(t, name, "keep.txt"); got != "kept" {
			t.Errorf("a failed restore changed keep.txt to %q", got)
		}
	})

	t.Run("GetIsNotFoundWhenIDUnknown", func(t *testing.T) {
		if _, err := c.GetCheckpoint(s.ctx, name, "v999"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("GetCheckpoint(v999) = %v, want ErrNotFound", err)
		}
	})

	t.Run("CallsAreNotFoundWhenSpriteMissing", func(t *testing.T) {
		missing := s.name("cp-missing")
		if _, err := c.CreateCheckpoint(s.ctx, missing, "", nil); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("CreateCheckpoint(missing sprite) = %v, want ErrNotFound", err)
		}
		if _, err := c.ListCheckpoints(s.ctx, missing, false); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ListCheckpoints(missing sprite) = %v, want ErrNotFound", err)
		}
		if err := c.RestoreCheckpoint(s.ctx, missing, "v0", nil); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("RestoreCheckpoint(missing sprite) = %v, want ErrNotFound", err)
		}
	})
}

func (s *suite) checkpointIDs(t *testing.T, name string) []string {
	t.Helper()
	list, err := s.Client.ListCheckpoints(s.ctx, name, false)
	if err != nil {
		t.Fatalf("ListCheckpoints: %v", err)
	}
	ids := make([]string, len(list))
	for i, cp := range list {
		ids[i] = cp.ID
	}
	return ids
}

func versionOf(t *testing.T, id string) int {
	t.Helper()
	m := userCheckpointID.FindStringSubmatch(id)
	if m == nil {
		t.Fatalf("checkpoint ID %q is not of the form vN", id)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func lastEvent(evs []sprites.StreamEvent) sprites.StreamEvent {
	if len(evs) == 0 {
		return sprites.StreamEvent{}
	}
	return evs[len(evs)-1]
}
