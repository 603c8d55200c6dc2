package activities

import (
	"strings"
	"sync"
)

// cappedWriter keeps the first limit bytes written to it, counts them all,
// and flags that it dropped some. It never fails a write: the command's
// output must not stall because the answer is full.
type cappedWriter struct {
	mu        sync.Mutex
	buf       []byte
	limit     int
	total     int64
	truncated bool
}

func newCappedWriter(limit int) *cappedWriter {
	return &cappedWriter{limit: limit}
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	w.total += int64(n)
	room := w.limit - len(w.buf)
	if len(p) > room {
		w.truncated = true
		p = p[:max(room, 0)]
	}
	w.buf = append(w.buf, p...)
	return n, nil
}

// String returns the kept bytes as valid UTF-8: a character cut by the cap,
// and any other invalid bytes, become U+FFFD (history payloads are JSON
// strings).
func (w *cappedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	if w.truncated {
		b = trimPartialRune(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Truncated reports whether bytes were dropped.
func (w *cappedWriter) Truncated() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.truncated
}

// Reset drops everything kept so far.
func (w *cappedWriter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf, w.total, w.truncated = w.buf[:0], 0, false
}
