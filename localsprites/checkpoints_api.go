package localsprites

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// createCheckpoint copies the sprite's home to checkpoints/vN and streams
// the real service's events. The ID is only in the text, as there.
func (s *Server) createCheckpoint(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opCheckpointCreate)
	if sp == nil {
		return
	}
	var req sprites.CheckpointRequest
	if err := decodeBody(r, &req); err != nil {
		writeInvalid(w, "invalid request body: "+err.Error())
		return
	}
	sp.envMu.Lock()
	defer sp.envMu.Unlock()
	if sp.isDeleted() {
		writeError(w, http.StatusNotFound, "sprite not found")
		return
	}
	sp.begin()
	defer sp.end()

	out := sprites.NewStreamWriter(w)
	w.WriteHeader(http.StatusOK)
	_ = out.Write(sprites.StreamEvent{Type: "info", Data: "Creating checkpoint..."})

	sp.mu.Lock()
	id := "v" + strconv.Itoa(sp.meta.NextCP)
	source := sp.meta.Source
	sp.mu.Unlock()
	final := filepath.Join(sp.checkpointsDir(), id)
	tmp := final + ".partial-" + randomHex(4)
	start := time.Now()
	err := copyTree(sp.homeDir(), tmp)
	if err == nil {
		_ = os.RemoveAll(final) // leftovers of a checkpoint whose metadata was never saved
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		s.log.Error("checkpoint", "sprite", sp.meta.Name, "err", err)
		_ = out.Write(sprites.StreamEvent{Type: "error", Error: "Failed to create checkpoint: " + err.Error()})
		return
	}
	created := time.Now().UTC()
	sp.mu.Lock()
	sp.meta.NextCP++
	sp.meta.Checkpoints = append(sp.meta.Checkpoints, checkpointMeta{ID: id, CreateTime: created, Comment: req.Comment, SourceID: source})
	err = sp.saveLocked()
	sp.mu.Unlock()
	if err != nil {
		_ = out.Write(sprites.StreamEvent{Type: "error", Error: "Failed to create checkpoint: " + err.Error()})
		return
	}
	s.log.Info("checkpoint created", "sprite", sp.meta.Name, "id", id, "took", time.Since(start))
	for _, line := range []string{
		"Checkpoint created successfully",
		"\nCheckpoint Details:",
		"  ID: " + id,
		"  Created: " + created.Format(time.DateTime),
		"  Path: checkpoints/" + id,
		"\nTo restore this checkpoint, use: sprite restore " + id,
	} {
		_ = out.Write(sprites.StreamEvent{Type: "info", Data: line})
	}
	_ = out.Write(sprites.StreamEvent{Type: "complete", Data: fmt.Sprintf("Checkpoint %s created successfully", id)})
}

func (sp *sprite) isDeleted() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.deleted
}

func (sp *sprite) findCheckpoint(id string) (checkpointMeta, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, c := range sp.meta.Checkpoints {
		if c.ID == id {
			return c, true
		}
	}
	return checkpointMeta{}, false
}

func (c checkpointMeta) api() sprites.Checkpoint {
	return sprites.Checkpoint{ID: c.ID, CreateTime: c.CreateTime, Comment: c.Comment, SourceID: c.SourceID}
}

// listCheckpoints answers the "Current" pseudo-entry, then newest to oldest.
func (s *Server) listCheckpoints(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opCheckpointList)
	if sp == nil {
		return
	}
	sp.mu.Lock()
	list := []sprites.Checkpoint{{
		ID:         sprites.CurrentCheckpointID,
		CreateTime: sp.meta.UpdatedAt,
		SourceID:   sp.meta.Source,
	}}
	for _, c := range slices.Backward(sp.meta.Checkpoints) {
		list = append(list, c.api())
	}
	sp.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getCheckpoint(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opCheckpointGet)
	if sp == nil {
		return
	}
	id := r.PathValue("id")
	c, ok := sp.findCheckpoint(id)
	if !ok {
		writeText(w, http.StatusInternalServerError, fmt.Sprintf("Failed to get checkpoint: checkpoint not found: %s", id))
		return
	}
	writeJSON(w, http.StatusOK, c.api())
}

// deleteCheckpoint removes a checkpoint; the one the sprite's files came
// from cannot be deleted.
func (s *Server) deleteCheckpoint(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opCheckpointDelete)
	if sp == nil {
		return
	}
	id := r.PathValue("id")
	sp.envMu.Lock()
	defer sp.envMu.Unlock()
	if _, ok := sp.findCheckpoint(id); !ok {
		writeError(w, http.StatusNotFound, "checkpoint not found: "+id)
		return
	}
	sp.mu.Lock()
	if sp.meta.Source == id {
		sp.mu.Unlock()
		writeError(w, http.StatusConflict, "cannot delete the checkpoint the sprite is currently on: "+id)
		return
	}
	sp.meta.Checkpoints = slices.DeleteFunc(sp.meta.Checkpoints, func(c checkpointMeta) bool { return c.ID == id })
	err := sp.saveLocked()
	sp.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := s.moveToTrash(filepath.Join(sp.checkpointsDir(), id)); err != nil {
		s.log.Warn("removing checkpoint files", "sprite", sp.meta.Name, "id", id, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
}

// restoreCheckpoint stops every process of the sprite, then swaps its home
// for a fresh copy of the checkpoint. An unknown ID is an error event in a
// 200 stream, as on the real service.
func (s *Server) restoreCheckpoint(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opCheckpointRestore)
	if sp == nil {
		return
	}
	id := r.PathValue("id")
	sp.envMu.Lock()
	defer sp.envMu.Unlock()
	if sp.isDeleted() {
		writeError(w, http.StatusNotFound, "sprite not found")
		return
	}
	out := sprites.NewStreamWriter(w)
	w.WriteHeader(http.StatusOK)
	_ = out.Write(sprites.StreamEvent{Type: "info", Data: fmt.Sprintf("Restoring from checkpoint %s...", id)})
	if _, ok := sp.findCheckpoint(id); !ok {
		_ = out.Write(sprites.StreamEvent{Type: "error", Error: fmt.Sprintf("Failed to restore checkpoint: checkpoint with path checkpoints/%s not found", id)})
		return
	}
	sp.begin()
	defer sp.end()
	start := time.Now()
	sp.stopEverything(false)
	if err := s.swapHome(sp, id); err != nil {
		s.log.Error("restore", "sprite", sp.meta.Name, "id", id, "err", err)
		_ = out.Write(sprites.StreamEvent{Type: "error", Error: "Failed to restore checkpoint: " + err.Error()})
		return
	}
	sp.mu.Lock()
	sp.meta.Source = id
	sp.meta.UpdatedAt = time.Now().UTC()
	err := sp.saveLocked()
	sp.mu.Unlock()
	if err != nil {
		_ = out.Write(sprites.StreamEvent{Type: "error", Error: "Failed to restore checkpoint: " + err.Error()})
		return
	}
	s.startServices(sp)
	s.log.Info("checkpoint restored", "sprite", sp.meta.Name, "id", id, "took", time.Since(start))
	_ = out.Write(sprites.StreamEvent{Type: "info", Data: "Container components started successfully"})
	_ = out.Write(sprites.StreamEvent{Type: "complete", Data: fmt.Sprintf("Restore from %s complete", id)})
}

// swapHome replaces the home with a copy of checkpoint id. The copy is made
// beside the home first, so a failure leaves the current files untouched.
func (s *Server) swapHome(sp *sprite, id string) error {
	fresh := filepath.Join(sp.dir, "home.restore-"+randomHex(4))
	if err := copyTree(filepath.Join(sp.checkpointsDir(), id), fresh); err != nil {
		_ = os.RemoveAll(fresh)
		return err
	}
	// One atomic exchange where the filesystem has it: at every instant
	// the sprite's home is either all old files or all restored ones, even
	// if the server dies here. fresh then holds the old files.
	if err := unix.Renameat2(unix.AT_FDCWD, fresh, unix.AT_FDCWD, sp.homeDir(), unix.RENAME_EXCHANGE); err == nil {
		if err := s.moveToTrash(fresh); err != nil {
			s.log.Warn("removing replaced files", "dir", fresh, "err", err)
		}
		return nil
	}
	old := filepath.Join(sp.dir, "home.old-"+randomHex(4))
	if err := os.Rename(sp.homeDir(), old); err != nil {
		_ = os.RemoveAll(fresh)
		return fmt.Errorf("moving the current files away: %w", err)
	}
	if err := os.Rename(fresh, sp.homeDir()); err != nil {
		_ = os.Rename(old, sp.homeDir())
		_ = os.RemoveAll(fresh)
		return fmt.Errorf("putting the checkpoint in place: %w", err)
	}
	if err := s.moveToTrash(old); err != nil {
		s.log.Warn("removing replaced files", "dir", old, "err", err)
	}
	return nil
}
