package localsprites

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestCopyFile_SkipsAFileSwappedForAFIFO plays the race a sprite's process
// can win while a checkpoint walks its files: the walk saw a regular file,
// and a FIFO stands at its path when the copy opens it. The copy must
// neither block on the FIFO (the sprite's lock is held) nor fail.
func TestCopyFile_SkipsAFileSwappedForAFIFO(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(filepath.Join(src, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "f")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "f"), 0o644); err != nil {
		t.Fatal(err)
	}
	sr, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	dr, err := os.OpenRoot(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer dr.Close()

	done := make(chan error, 1)
	go func() { done <- copyFile(sr, dr, "f", info, false) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("copyFile: %v", err)
		}
	case <-time.After(10 * time.Second):
		// Unblock the stuck open so the goroutine ends with the test.
		if w, err := os.OpenFile(filepath.Join(src, "f"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("copyFile blocked opening a FIFO")
	}
	if _, err := os.Lstat(filepath.Join(dst, "f")); !os.IsNotExist(err) {
		t.Fatalf("the FIFO left something in the copy: %v", err)
	}
}
