package sprites

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestReadFile_SendsWorkingDirAndReturnsTheBytes(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/fs/read", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("path") != "notes/a.txt" || q.Get("workingDir") != "/home/sprite" {
			t.Errorf("query = %v", q)
		}
		writeRaw(w, 200, "application/octet-stream", "\x00binary\xffdata")
	})
	data, err := c.ReadFile(context.Background(), "box", "notes/a.txt")
	if err != nil || string(data) != "\x00binary\xffdata" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
}

func TestReadFile_ENOENTIsNotFound(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/fs/read", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 404, "application/json", `{"error":"file not found","code":"ENOENT","path":"/home/sprite/x"}`)
	})
	if _, err := c.ReadFile(context.Background(), "box", "x"); !IsNotFound(err) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestWriteFile_SendsModeParentsAndBody(t *testing.T) {
	tests := []struct {
		name string
		mode os.FileMode
		want string
	}{
		{"explicit", 0o755, "0755"},
		{"zero means 0644", 0, "0644"},
		{"setuid", 0o755 | os.ModeSetuid, "4755"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("PUT /v1/sprites/{name}/fs/write", func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				body, _ := io.ReadAll(r.Body)
				if q.Get("path") != "/home/sprite/bin/run.sh" || q.Get("workingDir") != "/home/sprite" ||
					q.Get("mode") != tt.want || q.Get("mkdirParents") != "true" || string(body) != "#!/bin/sh\n" ||
					r.Header.Get("Content-Type") != "application/octet-stream" {
					t.Errorf("query %v body %q content type %q", q, body, r.Header.Get("Content-Type"))
				}
				writeRaw(w, 201, "application/json", `{"path":"/home/sprite/bin/run.sh","size":10,"mode":"`+tt.want+`"}`)
			})
			res, err := c.WriteFile(context.Background(), "box", "/home/sprite/bin/run.sh", strings.NewReader("#!/bin/sh\n"), tt.mode)
			if err != nil || res.Size != 10 || res.Mode != tt.want {
				t.Fatalf("WriteFile = %+v, %v", res, err)
			}
		})
	}
}

func TestWriteFile_NotADirectoryIsAnError(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("PUT /v1/sprites/{name}/fs/write", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 400, "application/json", `{"error":"not a directory","code":"ENOTDIR","path":"/home/sprite/f/x"}`)
	})
	_, err := c.WriteFile(context.Background(), "box", "f/x", nil, 0)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Body.Code != "ENOTDIR" || apiErr.Body.Path != "/home/sprite/f/x" {
		t.Fatalf("err = %v, want an *APIError with code ENOTDIR", err)
	}
}

func TestListFiles_DecodesCamelCaseEntries(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/fs/list", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("workingDir") != "/home/sprite" {
			t.Errorf("query = %v", r.URL.Query())
		}
		writeRaw(w, 200, "application/json", `{"path":"/home/sprite","count":2,"entries":[`+
			`{"name":"a.txt","path":"/home/sprite/a.txt","type":"file","size":3,"mode":"0644","modTime":"2026-01-31T12:00:00Z","isDir":false},`+
			`{"name":"src","path":"/home/sprite/src","type":"directory","size":4096,"mode":"0755","modTime":"2026-01-31T12:00:00Z","isDir":true}]}`)
	})
	list, err := c.ListFiles(context.Background(), "box", ".")
	if err != nil {
		t.Fatal(err)
	}
	if list.Count != 2 || len(list.Entries) != 2 || !list.Entries[1].IsDir || list.Entries[0].ModTime.IsZero() || list.Entries[0].Mode != "0644" {
		t.Errorf("list = %+v", list)
	}
}

func TestDeleteFile_SendsRecursiveAndDecodes(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("DELETE /v1/sprites/{name}/fs/delete", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("recursive") != "true" || q.Get("path") != "src" || q.Get("workingDir") != "/home/sprite" {
			t.Errorf("query = %v", q)
		}
		writeRaw(w, 200, "application/json", `{"deleted":["/home/sprite/src/a","/home/sprite/src"],"count":2}`)
	})
	res, err := c.DeleteFile(context.Background(), "box", "src", true)
	if err != nil || res.Count != 2 || len(res.Deleted) != 2 {
		t.Fatalf("DeleteFile = %+v, %v", res, err)
	}
}

func TestMode_ParseAndFormatRoundTrip(t *testing.T) {
	tests := []struct {
		text string
		mode os.FileMode
		want string // FormatMode of the parsed mode
	}{
		{"0644", 0o644, "0644"},
		{"755", 0o755, "0755"},
		{"4755", 0o755 | os.ModeSetuid, "4755"},
		{"2750", 0o750 | os.ModeSetgid, "2750"},
		{"1777", 0o777 | os.ModeSticky, "1777"},
		{"0000", 0, "0000"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got, err := ParseMode(tc.text)
			if err != nil || got != tc.mode {
				t.Fatalf("ParseMode(%q) = %v, %v; want %v", tc.text, got, err, tc.mode)
			}
			if s := FormatMode(got); s != tc.want {
				t.Fatalf("FormatMode(%v) = %q, want %q", got, s, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "0o644", "rw-r--r--", "10000", "0648", "-644"} {
		if _, err := ParseMode(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMode(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if s := FormatMode(os.ModeDir | 0o755); s != "0755" {
		t.Errorf("FormatMode(dir 0755) = %q, want the permission bits only", s)
	}
}

func TestReadFileLimit_KeepsAtMostTheLimitAndReportsTheSize(t *testing.T) {
	content := strings.Repeat("0123456789", 100_000) // 1 MB
	tests := []struct {
		name          string
		contentLength bool
		max           int64
		wantLen       int
	}{
		{"cut, size from Content-Length", true, 1000, 1000},
		{"cut, size counted", false, 1000, 1000},
		{"whole file", true, 2 << 20, len(content)},
		{"zero limit", false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("GET /v1/sprites/{name}/fs/read", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				if tc.contentLength {
					w.Header().Set("Content-Length", strconv.Itoa(len(content)))
				} else {
					w.(http.Flusher).Flush() // chunked: no length
				}
				_, _ = io.WriteString(w, content)
			})
			data, size, err := c.ReadFileLimit(context.Background(), "box", "big.log", tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != tc.wantLen || string(data) != content[:tc.wantLen] {
				t.Fatalf("got %d bytes, want the first %d", len(data), tc.wantLen)
			}
			if size != int64(len(content)) {
				t.Fatalf("size %d, want %d", size, len(content))
			}
		})
	}
}

func TestReadFileLimit_MissingFileIsNotFound(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}/fs/read", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 404, "application/json", `{"error":"file not found","code":"ENOENT","path":"/home/sprite/x"}`)
	})
	if _, _, err := c.ReadFileLimit(context.Background(), "box", "x", 10); !IsNotFound(err) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}
