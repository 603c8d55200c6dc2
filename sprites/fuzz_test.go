package sprites

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The seeds below run in every plain `go test`; `go test -fuzz` explores
// from them.

func FuzzReadStream(f *testing.F) {
	f.Add([]byte(recordedCreateStream("v1")))
	f.Add([]byte(ndjson(`{"type":"info","data":"x"}`, `{"type":"error","error":"checkpoint not found"}`)))
	f.Add([]byte(ndjson(`{"type":"info","data":"x"}`)))
	f.Add([]byte("\n\n{\"type\":\"complete\"}"))
	f.Add([]byte(`{"type":"complete","exit_code":0}` + "\n"))
	f.Add([]byte("not json\n"))
	f.Add([]byte(`{"type":"info","time":"yesterday"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var seen int
		ev, err := ReadStream("fuzz", bytes.NewReader(data), func(StreamEvent) error { seen++; return nil })
		var se *StreamError
		switch {
		case err == nil:
			if ev.Type != "complete" {
				t.Fatalf("success with a %q event", ev.Type)
			}
		case errors.As(err, &se):
			if !se.Truncated && se.Event.Type != "error" {
				t.Fatalf("StreamError for a %q event", se.Event.Type)
			}
			if se.Truncated && seen > 0 && ev.Type != "" {
				t.Fatalf("truncated stream returned event %+v", ev)
			}
		}
	})
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte{StreamStdout, 'h', 'i'})
	f.Add([]byte{StreamExit})
	f.Add(ExitFrame(255))
	f.Add([]byte{})
	f.Add([]byte(`{"type":"session_info","session_id":1847,"tty":false}`))
	f.Add([]byte(`control:{"type":"op.complete"}`))
	f.Add([]byte(`{"type":"exit","exit_code":-1}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		stream, payload, err := DecodeFrame(msg)
		if len(msg) == 0 {
			if err == nil {
				t.Fatal("empty message decoded")
			}
		} else if err != nil || !bytes.Equal(EncodeFrame(stream, payload), msg) {
			t.Fatalf("DecodeFrame(%v) = %v, %v, %v: does not round-trip", msg, stream, payload, err)
		}
		if code := ExitCodeOf(payload); code < 0 || code > 255 {
			t.Fatalf("exit code %d out of range", code)
		}
		_, _ = DecodeControl(msg)

		// The HTTP exec parser must never panic and only ever report a
		// code that fits a byte.
		var p httpFrameParser
		half := len(msg) / 2
		p.feed(msg[:half], false)
		if half < len(msg) {
			p.feed(msg[half:], false)
		}
		if _, _, code, err := p.finish("fuzz"); err == nil && (code < 0 || code > 255) {
			t.Fatalf("HTTP exec exit code %d out of range", code)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(500, []byte(`{"error":"failed to retrieve sprite"}`), "")
	f.Add(429, []byte(`{"error":"sprite_creation_rate_limited","retry_after_seconds":30}`), "10")
	f.Add(400, []byte(`{"errors":["invalid sprite name format"]}`), "")
	f.Add(404, []byte(`{"error":"x","code":"ENOENT","path":"/a"}`), "")
	f.Add(500, []byte("Failed to get checkpoint: checkpoint not found"), "")
	f.Add(409, []byte(`{"error":{"nested":true}}`), "-5")
	f.Add(429, []byte(`{"retry_after_seconds":9223372036854775807}`), "")
	f.Add(429, []byte(`{}`), "9223372036854775807")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		if retryAfter != "" {
			resp.Header.Set("Retry-After", retryAfter)
		}
		e := DecodeError("fuzz", resp)
		if e.StatusCode != status || e.RetryAfter < 0 {
			t.Fatalf("decoded %+v from status %d", e, status)
		}
		if status == http.StatusNotFound && !errors.Is(e, ErrNotFound) {
			t.Fatal("404 is not ErrNotFound")
		}
		if !strings.Contains(e.Error(), "fuzz") {
			t.Fatalf("error %q lost its op", e.Error())
		}
	})
}
