package localsprites

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// treeEntry is what must survive a checkpoint and restore: type, mode and
// content (or link target).
type treeEntry struct {
	mode    fs.FileMode
	content string
}

func snapshotTree(t *testing.T, dir string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := treeEntry{mode: info.Mode()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.content, err = os.Readlink(p)
		case info.Mode().IsRegular():
			var raw []byte
			raw, err = os.ReadFile(p)
			e.content = string(raw)
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(want, got map[string]treeEntry) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+k)
		case g.mode != want[k].mode:
			diffs = append(diffs, fmt.Sprintf("%s: mode %v, want %v", k, g.mode, want[k].mode))
		case g.content != want[k].content:
			diffs = append(diffs, k+": content differs")
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "unexpected "+k)
		}
	}
	return strings.Join(diffs, "; ")
}

// processesWith lists the host PIDs of the sprite spriteID (by the marker
// in their environment) whose command line contains needle. Other test
// runs on the machine may run the same commands; they are not counted.
func processesWith(spriteID, needle string) []int {
	marker := []byte(markerVar + "=" + spriteID + "\x00")
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(raw, []byte(needle)) {
			continue
		}
		if env, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil && bytes.Contains(env, marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestCheckpoint_RestoreBringsBackFilesAndKillsProcesses(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		spriteID := ts.create("cp").ID
		home := filepath.Join(ts.cfg.StateDir, "sprites", "cp", "home")
		big := make([]byte, 300<<10)
		_, _ = rand.Read(big)
		ts.writeFile("cp", "a.txt", "version one")
		ts.writeFile("cp", "deep/x/y/z.bin", string(big))
		ts.call("PUT", "/v1/sprites/cp/fs/write", map[string][]string{"path": {"bin/run.sh"}, "mode": {"0750"}}, "#!/bin/sh\n", http.StatusOK, nil)
		ts.sh("cp", "ln -s a.txt link && mkdir emptydir && mkdir ro && echo r > ro/f && chmod 0555 ro && chmod 0600 a.txt")
		before := snapshotTree(t, home)

		events, err := ts.stream("POST", "/v1/sprites/cp/checkpoint", nil, sprites.CheckpointRequest{Comment: "before"})
		if err != nil {
			t.Fatal(err)
		}
		var sawID bool
		for _, ev := range events {
			sawID = sawID || ev.Data == "  ID: v1"
		}
		if last := events[len(events)-1]; last.Type != "complete" || last.Data != "Checkpoint v1 created successfully" || !sawID {
			t.Fatalf("checkpoint events %+v", events)
		}

		// Wreck the files.
		ts.writeFile("cp", "a.txt", "version two, longer")
		ts.writeFile("cp", "new.txt", "should vanish")
		ts.sh("cp", "rm -r bin emptydir link && ln -s new.txt link && chmod 0700 ro && chmod 0644 a.txt && truncate -s 10 deep/x/y/z.bin")
		// Background processes of every kind: a daemon that left the
		// session's process group, and a detached exec session.
		ts.sh("cp", "setsid sleep 3017.5 >/dev/null 2>&1 < /dev/null &")
		eventually(t, 5*time.Second, "the daemon to start", func() bool { return len(processesWith(spriteID, "3017.5")) == 1 })
		detached := ts.dropAfter("cp", "echo up; exec sleep 3018.5", "up", "max_run_after_disconnect", "0")

		events, err = ts.stream("POST", "/v1/sprites/cp/checkpoints/v1/restore", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if events[0].Data != "Restoring from checkpoint v1..." || events[len(events)-1].Data != "Restore from v1 complete" {
			t.Fatalf("restore events %+v", events)
		}
		if d := diffTrees(before, snapshotTree(t, home)); d != "" {
			t.Fatalf("after restore: %s", d)
		}
		if pids := processesWith(spriteID, "3017.5"); len(pids) != 0 {
			t.Fatalf("daemon survived the restore: %v", pids)
		}
		if pids := processesWith(spriteID, "3018.5"); len(pids) != 0 || syscall.Kill(int(detached), 0) == nil {
			t.Fatalf("detached session survived the restore: %v", pids)
		}
		var list sprites.SessionList
		ts.call("GET", "/v1/sprites/cp/exec", nil, nil, http.StatusOK, &list)
		if len(list.Sessions) != 0 {
			t.Fatalf("sessions after restore: %+v", list.Sessions)
		}
		// The sprite works after the restore and sees the restored files.
		if out := ts.sh("cp", "cat link"); out != "version one" {
			t.Fatalf("after restore, link reads %q", out)
		}

		// A checkpoint is a copy: writes after a restore do not reach it.
		ts.writeFile("cp", "a.txt", "version three")
		if _, err := ts.stream("POST", "/v1/sprites/cp/checkpoints/v1/restore", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := ts.readFile("cp", "a.txt"); got != "version one" {
			t.Fatalf("second restore: %q", got)
		}
		// v0 is the empty home of a new sprite.
		if _, err := ts.stream("POST", "/v1/sprites/cp/checkpoints/v0/restore", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := snapshotTree(t, home); len(got) != 1 {
			t.Fatalf("after restoring v0: %v", slices.Collect(maps.Keys(got)))
		}
	})
}

func TestCheckpoint_ListGetAndUnknownIDs(t *testing.T) {
	ts := start(t, Config{})
	ts.create("cl")
	for range 2 {
		if _, err := ts.stream("POST", "/v1/sprites/cl/checkpoint", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var list []sprites.Checkpoint
	ts.call("GET", "/v1/sprites/cl/checkpoints", nil, nil, http.StatusOK, &list)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "Current,v2,v1,v0" {
		t.Fatalf("ids %v", ids)
	}
	var cp sprites.Checkpoint
	ts.call("GET", "/v1/sprites/cl/checkpoints/v2", nil, nil, http.StatusOK, &cp)
	if cp.ID != "v2" || cp.CreateTime.IsZero() {
		t.Fatalf("get %+v", cp)
	}

	resp := ts.do("GET", "/v1/sprites/cl/checkpoints/v9", nil, nil)
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(string(raw), "checkpoint not found") {
		t.Fatalf("get unknown: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}

	events, err := ts.stream("POST", "/v1/sprites/cl/checkpoints/v9/restore", nil, nil)
	var se *sprites.StreamError
	if !errors.As(err, &se) || !errors.Is(err, sprites.ErrNotFound) || events[len(events)-1].Type != "error" {
		t.Fatalf("restore unknown: %v %+v", err, events)
	}
	// Another sprite's checkpoint IDs mean nothing here.
	ts.create("other")
	if _, err := ts.stream("POST", "/v1/sprites/other/checkpoints/v2/restore", nil, nil); err == nil {
		t.Fatal("restored another sprite's v2")
	}

	ts.call("DELETE", "/v1/sprites/cl/checkpoints/v1", nil, nil, http.StatusNoContent, nil)
	ts.call("DELETE", "/v1/sprites/cl/checkpoints/v0", nil, nil, http.StatusConflict, nil) // the current one
	ts.call("GET", "/v1/sprites/cl/checkpoints/v1", nil, nil, http.StatusInternalServerError, nil)
}

func TestSprites_DeleteRemovesFilesCheckpointsAndProcesses(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		spriteID := ts.create("gone").ID
		ts.writeFile("gone", "f", "data")
		if _, err := ts.stream("POST", "/v1/sprites/gone/checkpoint", nil, nil); err != nil {
			t.Fatal(err)
		}
		ts.sh("gone", "setsid sleep 3019.5 >/dev/null 2>&1 < /dev/null &")
		id := ts.dropAfter("gone", "echo up; exec sleep 3020.5", "up", "max_run_after_disconnect", "0")
		ts.call("DELETE", "/v1/sprites/gone", nil, nil, http.StatusNoContent, nil)
		if pids := append(processesWith(spriteID, "3019.5"), processesWith(spriteID, "3020.5")...); len(pids) != 0 || syscall.Kill(int(id), 0) == nil {
			t.Fatalf("processes survived the delete: %v", pids)
		}
		if _, err := os.Stat(filepath.Join(ts.cfg.StateDir, "sprites", "gone")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("sprite directory still there: %v", err)
		}
		eventually(t, 5*time.Second, "the trash to be emptied", func() bool {
			entries, _ := os.ReadDir(filepath.Join(ts.cfg.StateDir, "trash"))
			return len(entries) == 0
		})
	})
}
