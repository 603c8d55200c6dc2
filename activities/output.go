package activities

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// cappedWriter keeps the first limit bytes written to it and flags that it
// dropped some. It never fails a write: the command's output must not stall
// because the answer is full.
type cappedWriter struct {
	mu        sync.Mutex
	buf       []byte
	limit     int
	truncated bool
}

func newCappedWriter(limit int) *cappedWriter {
	return &cappedWriter{limit: limit}
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	room := w.limit - len(w.buf)
	if len(p) > room {
		w.truncated = true
		p = p[:max(room, 0)]
	}
	w.buf = append(w.buf, p...)
	return n, nil
}

// Text returns the kept output as valid UTF-8 (a character cut by the cap,
// and any other invalid bytes, become U+FFFD: history payloads are JSON
// strings) that encodes to at most limit bytes, and whether anything was
// dropped.
func (w *cappedWriter) Text() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	if w.truncated {
		b = trimPartialRune(b)
	}
	text, cut := fitJSON(strings.ToValidUTF8(string(b), "\uFFFD"), w.limit)
	return text, w.truncated || cut
}

// Reset drops everything kept so far.
func (w *cappedWriter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf, w.truncated = w.buf[:0], false
}

// fitJSON cuts s, at a character boundary, to the longest prefix whose JSON
// encoding takes at most limit bytes, and reports whether it cut. Capping
// raw bytes is not enough: Temporal's JSON payloads write a control byte,
// '<', '>' or '&' as six bytes, so output under its cap could still encode
// to several times the cap and push an activity result or an update answer
// past the 2 MB payload limit.
func fitJSON(s string, limit int) (string, bool) {
	if jsonLen(s) <= limit {
		return s, false
	}
	// The encoded length of a prefix cut back to a character boundary
	// grows with the cut, so the longest fitting prefix can be searched.
	n := sort.Search(len(s)+1, func(i int) bool {
		return jsonLen(s[:runeStart(s, i)]) > limit
	}) - 1
	return s[:runeStart(s, max(n, 0))], true
}

// jsonLen is the length of s as a JSON string, quotes excluded.
func jsonLen(s string) int {
	b, err := json.Marshal(s)
	if err != nil {
		return len(s) // a string always encodes; keep the raw length
	}
	return len(b) - 2
}

// runeStart moves i back to the start of the character it falls in.
func runeStart(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
