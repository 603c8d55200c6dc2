package sprites

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// StreamEvent is one line of an NDJSON stream: checkpoint and restore
// progress, service logs and kill events all use it.
type StreamEvent struct {
	Type      string    `json:"type"`
	Data      string    `json:"data,omitempty"`
	Error     string    `json:"error,omitempty"`
	Message   string    `json:"message,omitempty"`
	Signal    string    `json:"signal,omitempty"`
	PID       int       `json:"pid,omitempty"`
	ExitCode  *int      `json:"exit_code,omitempty"`
	Time      time.Time `json:"time,omitzero"`
	Timestamp int64     `json:"timestamp,omitempty"` // service logs: unix ms
	// LogFiles names a service's log files (combined, stdout, stderr) on
	// its terminal event.
	LogFiles map[string]string `json:"log_files,omitempty"`
}

// Text is the event's human-readable text, whichever field carried it.
func (e StreamEvent) Text() string {
	switch {
	case e.Error != "":
		return e.Error
	case e.Data != "":
		return e.Data
	}
	return e.Message
}

// StreamError is an `error` event, or a stream that ended without its
// terminal `complete` event. HTTP said 200 in both cases.
type StreamError struct {
	Op string
	// Event is the error event; its Type is empty when the stream just ended.
	Event StreamEvent
	// Truncated is set when the stream ended without `complete`.
	Truncated bool
}

func (e *StreamError) Error() string {
	if e.Truncated {
		return fmt.Sprintf("sprites: %s: stream ended without a complete event", e.Op)
	}
	return fmt.Sprintf("sprites: %s: %s", e.Op, e.Event.Text())
}

// Is reports ErrNotFound for an error event that says so.
func (e *StreamError) Is(target error) bool {
	if target != ErrNotFound || e.Truncated {
		return false
	}
	return containsNotFound(e.Event.Text())
}

// maxStreamLine bounds one NDJSON line; longer lines are an error.
const maxStreamLine = 1 << 20

// ReadStream reads an NDJSON stream to its end, calling fn (when non-nil)
// for every event. It returns a *StreamError for an `error` event or for a
// stream without `complete`, and the `complete` event otherwise. It is the one
// NDJSON reader, shared by every streamed endpoint.
func ReadStream(op string, r io.Reader, fn func(StreamEvent) error) (StreamEvent, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxStreamLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var ev StreamEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return StreamEvent{}, fmt.Errorf("sprites: %s: bad stream line %q: %w", op, truncate(line, 200), err)
		}
		if fn != nil {
			if err := fn(ev); err != nil {
				return ev, err
			}
		}
		switch ev.Type {
		case "error":
			return ev, &StreamError{Op: op, Event: ev}
		case "complete":
			return ev, nil
		}
	}
	if err := sc.Err(); err != nil {
		return StreamEvent{}, fmt.Errorf("sprites: %s: reading stream: %w", op, err)
	}
	return StreamEvent{}, &StreamError{Op: op, Truncated: true}
}

// StreamWriter writes NDJSON events and flushes each one, so the client sees
// progress as it happens. localsprites uses it for every streamed answer.
type StreamWriter struct {
	w   io.Writer
	enc *json.Encoder
}

// NewStreamWriter sets the NDJSON content type (when w is an
// http.ResponseWriter whose header was not written) and returns a writer.
func NewStreamWriter(w io.Writer) *StreamWriter {
	if rw, ok := w.(http.ResponseWriter); ok {
		rw.Header().Set("Content-Type", "application/x-ndjson")
	}
	return &StreamWriter{w: w, enc: json.NewEncoder(w)}
}

// Write sends one event, stamping its time when unset, and flushes.
func (s *StreamWriter) Write(ev StreamEvent) error {
	if ev.Time.IsZero() && ev.Timestamp == 0 {
		ev.Time = time.Now().UTC()
	}
	if err := s.enc.Encode(ev); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

func containsNotFound(s string) bool {
	lower := strings.ToLower(s)
	return strings.Contains(lower, "not found") || strings.Contains(lower, "no such")
}
