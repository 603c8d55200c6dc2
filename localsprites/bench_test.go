package localsprites

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// BenchmarkCheckpoint measures checkpoint and restore through the API, by
// workspace size. Each iteration of "restore" replaces the whole home.
//
//	go test ./localsprites -run '^$' -bench Checkpoint -benchtime 5x
func BenchmarkCheckpoint(b *testing.B) {
	for _, ws := range []struct {
		name  string
		files int
		size  int // bytes per file
	}{
		{"1MB_in_10_files", 10, 100 << 10},
		{"100MB_in_100_files", 100, 1 << 20},
		{"100MB_in_10000_files", 10000, 10 << 10},
	} {
		b.Run(ws.name, func(b *testing.B) {
			ts := start(b, Config{})
			ts.create("bench")
			home := filepath.Join(ts.cfg.StateDir, "sprites", "bench", "home")
			fillWorkspace(b, home, ws.files, ws.size)
			benchStream(b, ts, "/v1/sprites/bench/checkpoint") // v1, for restore
			bytes := int64(ws.files * ws.size)

			b.Run("checkpoint", func(b *testing.B) {
				b.SetBytes(bytes)
				for b.Loop() {
					benchStream(b, ts, "/v1/sprites/bench/checkpoint")
				}
			})
			b.Run("restore", func(b *testing.B) {
				b.SetBytes(bytes)
				for b.Loop() {
					benchStream(b, ts, "/v1/sprites/bench/checkpoints/v1/restore")
				}
			})
		})
	}
}

func benchStream(b *testing.B, ts *testServer, path string) {
	req, _ := http.NewRequest("POST", ts.url(path, nil), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := sprites.ReadStream(path, resp.Body, nil); err != nil {
		b.Fatal(err)
	}
}

// fillWorkspace writes files of random bytes (so nothing compresses or
// dedups) spread over directories of 100.
func fillWorkspace(b *testing.B, home string, files, size int) {
	b.Helper()
	buf := make([]byte, size)
	for i := range files {
		_, _ = rand.Read(buf)
		dir := filepath.Join(home, fmt.Sprintf("d%03d", i/100))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
