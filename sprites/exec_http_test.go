package sprites

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// readSignal is a transport whose response bodies report every read, so a
// server can send its next chunk only after the client consumed the last:
// Go's HTTP client joins chunks that are already buffered into one read.
type readSignal struct {
	reads chan struct{}
}

func (rs *readSignal) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &signalBody{ReadCloser: resp.Body, reads: rs.reads}
	}
	return resp, err
}

type signalBody struct {
	io.ReadCloser
	reads chan struct{}
}

func (b *signalBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		select {
		case b.reads <- struct{}{}:
		default:
		}
	}
	return n, err
}

// chunkServer answers POST exec with each element of chunks as one HTTP
// chunk, waiting for the client to read each before sending the next.
func chunkServer(t *testing.T, chunks [][]byte, seen func(r *http.Request, body []byte)) *Client {
	t.Helper()
	rs := &readSignal{reads: make(chan struct{}, 1)}
	_, srv := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/sprites/box/exec" {
			writeRaw(w, 404, "application/json", `{"error":"not found"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if seen != nil {
			seen(r, body)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		for _, c := range chunks {
			_, _ = w.Write(c)
			w.(http.Flusher).Flush()
			select {
			case <-rs.reads:
			case <-r.Context().Done():
				return
			}
		}
	}))
	return New(testToken, WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: rs}))
}

func TestExecHTTP_SplitsFramesAtChunkBoundaries(t *testing.T) {
	var query url.Values
	var stdinBody []byte
	c := chunkServer(t, [][]byte{
		EncodeFrame(StreamStdout, []byte("out 1\n")),
		EncodeFrame(StreamStderr, []byte("err\n")),
		EncodeFrame(StreamStdout, []byte("out 2\n")),
		ExitFrame(4),
	}, func(r *http.Request, body []byte) { query, stdinBody = r.URL.Query(), body })
	stdout, stderr, code, err := c.ExecHTTP(context.Background(), "box", []string{"sh", "-c", "x"},
		[]string{"A=1"}, "/tmp", bytes.NewReader([]byte("input")))
	if err != nil {
		t.Fatal(err)
	}
	if string(stdout) != "out 1\nout 2\n" || string(stderr) != "err\n" || code != 4 {
		t.Errorf("stdout %q stderr %q code %d", stdout, stderr, code)
	}
	want := url.Values{"cmd": {"sh", "-c", "x"}, "path": {"sh"}, "env": {"A=1"}, "dir": {"/tmp"}, "stdin": {"true"}}
	if !reflect.DeepEqual(query, want) || string(stdinBody) != "input" {
		t.Errorf("query %v body %q, want %v and input", query, stdinBody, want)
	}
}

func TestExecHTTP_FindsTheExitCodeInCoalescedChunks(t *testing.T) {
	tests := []struct {
		name   string
		chunks [][]byte
		stdout string
		stderr string
		code   int
	}{
		{"exit joined to the last output", [][]byte{
			EncodeFrame(StreamStderr, []byte("e")),
			append(EncodeFrame(StreamStdout, []byte("tail")), ExitFrame(2)...),
		}, "tail", "e", 2},
		{"everything in one chunk", [][]byte{
			append(EncodeFrame(StreamStdout, []byte("out")), ExitFrame(0)...),
		}, "out", "", 0},
		{"exit frame alone", [][]byte{ExitFrame(9)}, "", "", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chunkServer(t, tt.chunks, nil)
			stdout, stderr, code, err := c.ExecHTTP(context.Background(), "box", []string{"x"}, nil, "", nil)
			if err != nil || string(stdout) != tt.stdout || string(stderr) != tt.stderr || code != tt.code {
				t.Fatalf("ExecHTTP = %q, %q, %d, %v; want %q, %q, %d", stdout, stderr, code, err, tt.stdout, tt.stderr, tt.code)
			}
		})
	}
}

func TestExecHTTP_AnswerWithoutExitFrameIsConnectionLost(t *testing.T) {
	c := chunkServer(t, [][]byte{EncodeFrame(StreamStdout, []byte("partial"))}, nil)
	_, _, code, err := c.ExecHTTP(context.Background(), "box", []string{"x"}, nil, "", nil)
	var lost *ConnectionLostError
	if !errors.As(err, &lost) || code != -1 {
		t.Fatalf("ExecHTTP = %d, %v; want -1 and *ConnectionLostError", code, err)
	}
}

func TestExecHTTP_ErrorAnswersAreDecoded(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 500, "application/json", `{"error":"failed to retrieve sprite"}`)
	}))
	if _, _, _, err := c.ExecHTTP(context.Background(), "gone", []string{"x"}, nil, "", nil); !IsNotFound(err) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestHTTPFrameParser_RebuildsFramesFromReads(t *testing.T) {
	type read struct {
		b    []byte
		full bool
	}
	tests := []struct {
		name   string
		reads  []read
		stdout string
		stderr string
		code   int
		lost   bool
	}{
		{"one frame per read", []read{{[]byte("\x01ab"), false}, {[]byte("\x02cd"), false}, {[]byte("\x03\x01"), false}}, "ab", "cd", 1, false},
		{"a full read continues its frame", []read{{[]byte("\x01ab"), true}, {[]byte("\x02c"), false}, {[]byte("\x03\x00"), false}}, "ab\x02c", "", 0, false},
		{"exit split over two reads", []read{{[]byte("\x01ab\x03"), false}, {[]byte{0x07}, false}}, "ab", "", 7, false},
		{"exit without code means 0", []read{{[]byte("\x01a"), false}, {[]byte{0x03}, false}}, "a", "", 0, false},
		{"unknown stream ignored", []read{{[]byte("\x05zz"), false}, {[]byte("\x01a"), false}, {[]byte("\x03\x00"), false}}, "a", "", 0, false},
		{"no exit", []read{{[]byte("\x01abc"), false}}, "", "", -1, true},
		{"nothing", nil, "", "", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p httpFrameParser
			for _, r := range tt.reads {
				p.feed(r.b, r.full)
			}
			stdout, stderr, code, err := p.finish("test")
			var lost *ConnectionLostError
			if errors.As(err, &lost) != tt.lost || string(stdout) != tt.stdout || string(stderr) != tt.stderr || code != tt.code {
				t.Fatalf("finish = %q, %q, %d, %v; want %q, %q, %d, lost %v", stdout, stderr, code, err, tt.stdout, tt.stderr, tt.code, tt.lost)
			}
		})
	}
}
