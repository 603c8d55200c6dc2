package localsprites

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestFS_WriteReadListDelete(t *testing.T) {
	ts := start(t, Config{})
	ts.create("files")
	base := "/v1/sprites/files/fs/"

	var wr sprites.WriteResult
	ts.call("PUT", base+"write", url.Values{"path": {"a/b/c.sh"}, "mode": {"0755"}}, "#!/bin/sh\necho hi\n", http.StatusOK, &wr)
	if wr.Path != "/home/sprite/a/b/c.sh" || wr.Size != 18 || wr.Mode != "0755" {
		t.Fatalf("write result %+v", wr)
	}
	if got, _ := ts.readFile("files", "/home/sprite/a/b/c.sh"); got != "#!/bin/sh\necho hi\n" {
		t.Fatalf("read %q", got)
	}
	// workingDir resolves relative paths.
	got, _ := ts.readFile("files", "a/b/c.sh")
	resp := ts.do("GET", base+"read", url.Values{"path": {"c.sh"}, "workingDir": {"/home/sprite/a/b"}}, nil)
	if resp.StatusCode != http.StatusOK || got == "" {
		t.Fatalf("read with workingDir: %d", resp.StatusCode)
	}
	// The mode is real: the script runs.
	if out := ts.sh("files", "./a/b/c.sh"); out != "hi\n" {
		t.Fatalf("script says %q", out)
	}

	var list sprites.FileList
	ts.call("GET", base+"list", url.Values{"path": {"/home/sprite/a"}}, nil, http.StatusOK, &list)
	if list.Count != 1 || list.Entries[0].Name != "b" || !list.Entries[0].IsDir || list.Entries[0].Type != "directory" {
		t.Fatalf("list %+v", list)
	}
	ts.call("GET", base+"list", url.Values{"path": {"a/b/c.sh"}}, nil, http.StatusOK, &list)
	if list.Count != 1 || list.Entries[0].Mode != "0755" || list.Entries[0].Size != 18 || list.Entries[0].ModTime.IsZero() {
		t.Fatalf("stat %+v", list)
	}
	ts.call("GET", base+"list", url.Values{"path": {"/home/sprite"}, "recursive": {"true"}}, nil, http.StatusOK, &list)
	if list.Count != 3 {
		t.Fatalf("recursive list %+v", list)
	}

	// Parent creation can be refused under either flag name.
	for _, flag := range []string{"mkdir", "mkdirParents"} {
		var e sprites.ErrorBody
		ts.call("PUT", base+"write", url.Values{"path": {"new/x"}, flag: {"false"}}, "x", http.StatusNotFound, &e)
		if e.Code != "ENOENT" || e.Path != "/home/sprite/new/x" {
			t.Fatalf("%s=false: %+v", flag, e)
		}
	}

	var e sprites.ErrorBody
	ts.call("GET", base+"read", url.Values{"path": {"nope"}}, nil, http.StatusNotFound, &e)
	if e.Code != "ENOENT" || e.Path != "/home/sprite/nope" {
		t.Fatalf("missing: %+v", e)
	}
	ts.call("GET", base+"read", url.Values{"path": {"a"}}, nil, http.StatusBadRequest, &e)
	if e.Code != "EISDIR" {
		t.Fatalf("read dir: %+v", e)
	}
	ts.call("DELETE", base+"delete", url.Values{"path": {"a"}}, nil, http.StatusConflict, &e)
	if e.Code != "ENOTEMPTY" {
		t.Fatalf("delete non-empty: %+v", e)
	}
	var del sprites.DeleteResult
	ts.call("DELETE", base+"delete", url.Values{"path": {"a"}, "recursive": {"true"}}, nil, http.StatusOK, &del)
	if del.Count != 3 || del.Deleted[0] != "/home/sprite/a" {
		t.Fatalf("delete %+v", del)
	}
	ts.call("GET", base+"list", url.Values{"path": {"a"}}, nil, http.StatusNotFound, nil)
	ts.call("DELETE", base+"delete", url.Values{"path": {"/home/sprite"}, "recursive": {"true"}}, nil, http.StatusBadRequest, nil)
}

func TestFS_WriteOverLimitIs413(t *testing.T) {
	ts := start(t, Config{MaxWriteBytes: 10})
	ts.create("lim")
	var e sprites.ErrorBody
	ts.call("PUT", "/v1/sprites/lim/fs/write", url.Values{"path": {"big"}}, strings.Repeat("x", 11), http.StatusRequestEntityTooLarge, &e)
	if e.Code != "EFBIG" {
		t.Fatalf("%+v", e)
	}
	if _, status := ts.readFile("lim", "big"); status != http.StatusNotFound {
		t.Fatalf("an oversized write left a file (status %d)", status)
	}
	ts.writeFile("lim", "small", strings.Repeat("x", 10))
}

// TestFS_RefusesEveryEscape tries to read, write, list and delete outside
// the sprite and checks both the answer and that nothing outside changed.
func TestFS_RefusesEveryEscape(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode})
		ts.create("jail")
		ts.create("neighbour")
		ts.writeFile("neighbour", "secret", "neighbour's")

		outside := t.TempDir()
		victim := filepath.Join(outside, "victim")
		if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(ts.cfg.StateDir, "sprites", "jail", "home")
		// Links planted in the sprite's files, as its processes could.
		for name, target := range map[string]string{
			"abs-dir":  outside,
			"abs-file": victim,
			"rel-up":   "../../neighbour/home",
			"etc":      "/etc",
		} {
			if err := os.Symlink(target, filepath.Join(home, name)); err != nil {
				t.Fatal(err)
			}
		}

		cases := []struct {
			name, method, op string
			q                url.Values
		}{
			{"dotdot read", "GET", "read", url.Values{"path": {"../../etc/passwd"}}},
			{"dotdot in workingDir", "GET", "read", url.Values{"path": {"passwd"}, "workingDir": {"/home/sprite/../../etc"}}},
			{"absolute outside", "GET", "read", url.Values{"path": {"/etc/passwd"}}},
			{"neighbour by dotdot", "GET", "read", url.Values{"path": {"/home/sprite/../neighbour/secret"}}},
			{"symlink dir read", "GET", "read", url.Values{"path": {"abs-dir/victim"}}},
			{"symlink file read", "GET", "read", url.Values{"path": {"abs-file"}}},
			{"relative symlink read", "GET", "read", url.Values{"path": {"rel-up/secret"}}},
			{"symlink list", "GET", "list", url.Values{"path": {"etc"}}},
			{"symlink dir write", "PUT", "write", url.Values{"path": {"abs-dir/victim"}}},
			{"symlink file write", "PUT", "write", url.Values{"path": {"abs-file"}}},
			{"symlink dir new file", "PUT", "write", url.Values{"path": {"abs-dir/new"}}},
			{"symlink dir mkdir", "PUT", "write", url.Values{"path": {"abs-dir/sub/new"}}},
			{"dotdot write", "PUT", "write", url.Values{"path": {"../escape"}}},
			{"symlink dir delete", "DELETE", "delete", url.Values{"path": {"abs-dir/victim"}}},
			{"dotdot delete", "DELETE", "delete", url.Values{"path": {"../neighbour"}, "recursive": {"true"}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var body any
				if tc.method == "PUT" {
					body = "pwned"
				}
				var e sprites.ErrorBody
				ts.call(tc.method, "/v1/sprites/jail/fs/"+tc.op, tc.q, body, http.StatusBadRequest, &e)
				if e.Code != "EINVAL" || !strings.Contains(e.Error, "outside") {
					t.Fatalf("answer %+v", e)
				}
				if strings.Contains(e.Error, ts.cfg.StateDir) {
					t.Fatalf("the error leaks a host path: %q", e.Error)
				}
			})
		}
		raw, _ := os.ReadFile(victim)
		entries, _ := os.ReadDir(outside)
		if string(raw) != "original" || len(entries) != 1 {
			t.Fatalf("outside changed: victim %q, %d entries", raw, len(entries))
		}
		if got, _ := ts.readFile("neighbour", "secret"); got != "neighbour's" {
			t.Fatalf("neighbour's file reads %q", got)
		}
		// Deleting a link removes the link, not its target.
		ts.call("DELETE", "/v1/sprites/jail/fs/delete", url.Values{"path": {"abs-dir"}, "recursive": {"true"}}, nil, http.StatusOK, nil)
		if _, err := os.Stat(victim); err != nil {
			t.Fatalf("deleting the link removed its target: %v", err)
		}
		// A link that stays inside works.
		if err := os.Symlink("sub", filepath.Join(home, "inside")); err != nil {
			t.Fatal(err)
		}
		ts.writeFile("jail", "sub/f", "ok")
		if got, _ := ts.readFile("jail", "inside/f"); got != "ok" {
			t.Fatalf("inside link reads %q", got)
		}
	})
}

// TestFS_RefusesSpecialFilesWithoutBlocking reads and writes a named pipe
// the sprite made. Opening a FIFO blocks until the other end opens, which
// would hang the request while it holds the sprite's lock, and with it the
// sprite's delete.
func TestFS_RefusesSpecialFilesWithoutBlocking(t *testing.T) {
	ts := start(t, Config{})
	ts.create("fifo")
	ts.sh("fifo", "mkfifo pipe && ln -s pipe link")
	cases := []struct {
		name, method, op, path string
	}{
		{"read the fifo", "GET", "read", "pipe"},
		{"read through a link", "GET", "read", "link"},
		{"write through a link", "PUT", "write", "link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var body io.Reader
			if tc.method == "PUT" {
				body = strings.NewReader("data")
			}
			req, err := http.NewRequestWithContext(ctx, tc.method, ts.url("/v1/sprites/fifo/fs/"+tc.op, url.Values{"path": {tc.path}}), body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+ts.cfg.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v (the server blocked on the FIFO)", tc.method, tc.path, err)
			}
			defer resp.Body.Close()
			var e sprites.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != http.StatusBadRequest || e.Code != "EINVAL" {
				t.Fatalf("status %d, body %+v; want 400 EINVAL", resp.StatusCode, e)
			}
		})
	}
	ts.call("DELETE", "/v1/sprites/fifo", nil, nil, http.StatusNoContent, nil)
}

// TestFS_StalledReaderDoesNotBlockDelete starts reading a file larger than
// the socket buffers and stops reading: the read must not keep the sprite
// locked, or its delete (and restore) would wait on that client for ever.
func TestFS_StalledReaderDoesNotBlockDelete(t *testing.T) {
	ts := start(t, Config{})
	ts.create("slow")
	ts.sh("slow", "head -c 33554432 /dev/zero > big")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", ts.url("/v1/sprites/slow/fs/read", url.Values{"path": {"big"}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.cfg.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // read nothing: the server's writes fill the socket and block

	delCtx, delCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer delCancel()
	del, err := http.NewRequestWithContext(delCtx, "DELETE", ts.url("/v1/sprites/slow", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Header.Set("Authorization", "Bearer "+ts.cfg.Token)
	dresp, err := http.DefaultClient.Do(del)
	if err != nil {
		t.Fatalf("delete while a reader stalls: %v", err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete answered %d", dresp.StatusCode)
	}
}
