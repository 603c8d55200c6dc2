package spritestest

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func testFilesystem(t *testing.T, s *suite) {
	c := s.Client
	name := s.newSprite(t, "fs")

	t.Run("WriteCreatesParentsAndReadReturnsContent", func(t *testing.T) {
		res, err := c.WriteFile(s.ctx, name, "deep/a/b/hello.txt", strings.NewReader("hello, sprite"), 0)
		if err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		if res.Size != int64(len("hello, sprite")) || res.Mode != "0644" {
			t.Errorf("WriteFile answered %+v, want size %d and mode 0644", res, len("hello, sprite"))
		}
		if got := s.readFile(t, name, "deep/a/b/hello.txt"); got != "hello, sprite" {
			t.Errorf("ReadFile = %q", got)
		}
		// An absolute path under the home is the same file.
		if got := s.readFile(t, name, sprites.HomeDir+"/deep/a/b/hello.txt"); got != "hello, sprite" {
			t.Errorf("ReadFile(absolute) = %q", got)
		}
		s.writeFile(t, name, "deep/a/b/hello.txt", "replaced")
		if got := s.readFile(t, name, "deep/a/b/hello.txt"); got != "replaced" {
			t.Errorf("ReadFile after overwrite = %q, want %q", got, "replaced")
		}
	})

	t.Run("ReadFileLimitCutsAndReportsTheSize", func(t *testing.T) {
		s.writeFile(t, name, "big.txt", strings.Repeat("x", 10_000))
		data, size, err := c.ReadFileLimit(s.ctx, name, "big.txt", 100)
		if err != nil {
			t.Fatalf("ReadFileLimit: %v", err)
		}
		if len(data) != 100 || size != 10_000 {
			t.Errorf("ReadFileLimit = %d bytes, size %d; want 100 bytes of a 10000-byte file", len(data), size)
		}
	})

	t.Run("WriteAppliesMode", func(t *testing.T) {
		if _, err := c.WriteFile(s.ctx, name, "bin/run.sh", strings.NewReader("#!/bin/sh\necho ran\n"), 0o755); err != nil {
			t.Fatalf("WriteFile(0755): %v", err)
		}
		if _, err := c.WriteFile(s.ctx, name, "secret.txt", strings.NewReader("s"), 0o600); err != nil {
			t.Fatalf("WriteFile(0600): %v", err)
		}
		if e := s.stat(t, name, "bin/run.sh"); e.Mode != "0755" || e.Type != "file" || e.IsDir {
			t.Errorf("stat bin/run.sh = %+v, want a file with mode 0755", e)
		}
		if e := s.stat(t, name, "secret.txt"); e.Mode != "0600" {
			t.Errorf("stat secret.txt = %+v, want mode 0600", e)
		}
		// The mode is real: the script runs.
		if out := s.output(t, name, nil, sprites.HomeDir+"/bin/run.sh"); out != "ran\n" {
			t.Errorf("running the 0755 script printed %q", out)
		}
	})

	t.Run("ListDescribesEntries", func(t *testing.T) {
		s.writeFile(t, name, "listing/one.txt", "1")
		s.writeFile(t, name, "listing/two.txt", "22")
		s.writeFile(t, name, "listing/dir/three.txt", "333")
		list, err := c.ListFiles(s.ctx, name, "listing")
		if err != nil {
			t.Fatalf("ListFiles: %v", err)
		}
		var names []string
		for _, e := range list.Entries {
			names = append(names, e.Name)
			switch e.Name {
			case "two.txt":
				if e.Size != 2 || e.Type != "file" || e.IsDir || e.ModTime.IsZero() {
					t.Errorf("entry two.txt = %+v, want a 2-byte file with modTime", e)
				}
				if e.Path != sprites.HomeDir+"/listing/two.txt" {
					t.Errorf("entry two.txt path = %q, want %q", e.Path, sprites.HomeDir+"/listing/two.txt")
				}
			case "dir":
				if !e.IsDir || e.Type != "directory" {
					t.Errorf("entry dir = %+v, want a directory", e)
				}
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"dir", "one.txt", "two.txt"}) || list.Count != 3 {
			t.Errorf("ListFiles(listing) = %q (count %d), want [dir one.txt two.txt] (3)", names, list.Count)
		}
	})

	t.Run("DeleteRemovesFilesAndDirectories", func(t *testing.T) {
		s.writeFile(t, name, "trash/a.txt", "a")
		s.writeFile(t, name, "trash/sub/b.txt", "b")
		res, err := c.DeleteFile(s.ctx, name, "trash/a.txt", false)
		if err != nil || res.Count != 1 {
			t.Fatalf("DeleteFile(file) = %+v, %v; want count 1", res, err)
		}
		if _, err := c.ReadFile(s.ctx, name, "trash/a.txt"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ReadFile of a deleted file = %v, want ErrNotFound", err)
		}
		if _, err := c.DeleteFile(s.ctx, name, "trash", true); err != nil {
			t.Fatalf("DeleteFile(dir, recursive): %v", err)
		}
		if _, err := c.ListFiles(s.ctx, name, "trash"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ListFiles of a deleted directory = %v, want ErrNotFound", err)
		}
	})

	t.Run("MissingPathIsNotFound", func(t *testing.T) {
		if _, err := c.ReadFile(s.ctx, name, "no/such/file"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ReadFile(missing) = %v, want ErrNotFound", err)
		}
		if _, err := c.ListFiles(s.ctx, name, "no/such/dir"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ListFiles(missing) = %v, want ErrNotFound", err)
		}
		if _, err := c.DeleteFile(s.ctx, name, "no/such/file", false); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("DeleteFile(missing) = %v, want ErrNotFound", err)
		}
		var apiErr *sprites.APIError
		_, err := c.ReadFile(s.ctx, name, "no/such/file")
		if !errors.As(err, &apiErr) || apiErr.Body.Code != "ENOENT" {
			t.Errorf("ReadFile(missing) = %v, want an APIError with code ENOENT", err)
		}
		if _, err := c.ReadFile(s.ctx, s.name("fs-missing"), "x"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("ReadFile in a missing sprite = %v, want ErrNotFound", err)
		}
	})

	t.Run("PathsOutsideHomeAreRefused", func(t *testing.T) {
		if !s.Confined {
			t.Skip("the backend's filesystem API is not confined to /home/sprite")
		}
		for _, p := range []string{"../../../../etc/hostname", "/etc/hostname", sprites.HomeDir + "/../../etc/hostname"} {
			if data, err := c.ReadFile(s.ctx, name, p); !isRefusal(err) {
				t.Errorf("ReadFile(%s) = %d bytes, %v; want a 400/403 refusal", p, len(data), err)
			}
		}
		if _, err := c.WriteFile(s.ctx, name, "../escaped.txt", strings.NewReader("x"), 0); !isRefusal(err) {
			t.Errorf("WriteFile(../escaped.txt) = %v, want a 400/403 refusal", err)
		}
		if _, err := c.ListFiles(s.ctx, name, "/"); !isRefusal(err) {
			t.Errorf("ListFiles(/) = %v, want a 400/403 refusal", err)
		}
		if _, err := c.DeleteFile(s.ctx, name, "..", true); !isRefusal(err) {
			t.Errorf("DeleteFile(.., recursive) = %v, want a 400/403 refusal", err)
		}
		// A symlink made inside the sprite must not lead the API out.
		s.output(t, name, nil, "ln", "-s", "/etc", "etc-link") // relative: cwd is the home in every mode
		if data, err := c.ReadFile(s.ctx, name, "etc-link/hostname"); !isRefusal(err) {
			t.Errorf("ReadFile through a symlink to /etc = %d bytes, %v; want a 400/403 refusal", len(data), err)
		}
		if _, err := c.WriteFile(s.ctx, name, "etc-link/suite-escape", strings.NewReader("x"), 0); !isRefusal(err) {
			t.Errorf("WriteFile through a symlink to /etc = %v, want a 400/403 refusal", err)
		}
	})
}

// isRefusal reports an API answer of 400 or 403: the server refused the
// path rather than failing to find it.
func isRefusal(err error) bool {
	var apiErr *sprites.APIError
	return errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusForbidden)
}

func (s *suite) writeFile(t *testing.T, name, path, content string) {
	t.Helper()
	if _, err := s.Client.WriteFile(s.ctx, name, path, strings.NewReader(content), 0); err != nil {
		t.Fatalf("WriteFile(%s): %v", path, err)
	}
}

func (s *suite) readFile(t *testing.T, name, path string) string {
	t.Helper()
	data, err := s.Client.ReadFile(s.ctx, name, path)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", path, err)
	}
	return string(data)
}

// stat lists a file's path, which answers that one entry.
func (s *suite) stat(t *testing.T, name, path string) sprites.FileEntry {
	t.Helper()
	list, err := s.Client.ListFiles(s.ctx, name, path)
	if err != nil {
		t.Fatalf("ListFiles(%s): %v", path, err)
	}
	if len(list.Entries) != 1 {
		t.Fatalf("ListFiles(%s) of a file = %d entries, want 1", path, len(list.Entries))
	}
	return list.Entries[0]
}
