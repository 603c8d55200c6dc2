package sprites

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// execServer serves the exec socket with handle, after the upgrade.
func execServer(t *testing.T, handle func(ctx context.Context, conn *websocket.Conn, r *http.Request)) *Client {
	t.Helper()
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.CloseNow()
		handle(r.Context(), conn, r)
	}))
	return c
}

func sendFrame(ctx context.Context, t *testing.T, conn *websocket.Conn, stream byte, payload string) {
	t.Helper()
	if err := conn.Write(ctx, websocket.MessageBinary, EncodeFrame(stream, []byte(payload))); err != nil {
		t.Errorf("write frame: %v", err)
	}
}

func sendJSON(ctx context.Context, t *testing.T, conn *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Errorf("write text: %v", err)
	}
}

func sessionInfo(id int64) ControlMessage {
	return ControlMessage{Type: "session_info", SessionID: id, Command: "sh", Created: 1769862024, IsOwner: true}
}

// readStdin collects stdin frames until stdin EOF.
func readStdin(ctx context.Context, conn *websocket.Conn) (string, error) {
	var b strings.Builder
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return b.String(), err
		}
		stream, payload, err := DecodeFrame(msg)
		if err != nil {
			continue
		}
		switch stream {
		case StreamStdin:
			b.Write(payload)
		case StreamStdinEOF:
			return b.String(), nil
		}
	}
}

func TestRun_StreamsStdoutAndStderrAndReportsTheSession(t *testing.T) {
	var query url.Values
	var path string
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		query, path = r.URL.Query(), r.URL.Path
		sendJSON(ctx, t, conn, sessionInfo(1847))
		sendFrame(ctx, t, conn, StreamStdout, "hello ")
		sendFrame(ctx, t, conn, StreamStderr, "warning\n")
		_ = conn.Write(ctx, websocket.MessageBinary, nil) // empty messages are ignored
		sendJSON(ctx, t, conn, ControlMessage{Type: "port_opened", Port: 8080, Address: "0.0.0.0", PID: 1850})
		sendFrame(ctx, t, conn, StreamStdout, "world\n")
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
		_, _ = readStdin(ctx, conn)
	})
	var stdout, stderr bytes.Buffer
	cmd := c.Command("box", "sh", "-c", "echo hello world")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"A=1", "B=two words"}
	cmd.Dir = "/home/sprite/work"
	cmd.MaxRunAfterDisconnect = 90 * time.Second
	var announced []int64
	cmd.OnSession = func(id int64) { announced = append(announced, id) }
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if stdout.String() != "hello world\n" || stderr.String() != "warning\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if cmd.ExitCode() != 0 || cmd.SessionID != 1847 || !reflect.DeepEqual(announced, []int64{1847}) {
		t.Errorf("exit %d, session %d, announced %v", cmd.ExitCode(), cmd.SessionID, announced)
	}
	want := url.Values{
		"cmd": {"sh", "-c", "echo hello world"}, "path": {"sh"}, "env": {"A=1", "B=two words"},
		"dir": {"/home/sprite/work"}, "max_run_after_disconnect": {"1m30s"}, "stdin": {"false"},
	}
	if !reflect.DeepEqual(query, want) || path != "/v1/sprites/box/exec" {
		t.Errorf("path %q query %v, want %v", path, query, want)
	}
}

func TestRun_NonZeroExitIsExitError(t *testing.T) {
	tests := []struct {
		name string
		exit func(ctx context.Context, t *testing.T, conn *websocket.Conn)
		code int
	}{
		{"binary exit frame", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(3))
		}, 3},
		{"JSON exit message", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			code := 7
			sendJSON(ctx, t, conn, ControlMessage{Type: "exit", ExitCode: &code})
		}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
				sendJSON(ctx, t, conn, sessionInfo(12))
				tt.exit(ctx, t, conn)
				_, _ = readStdin(ctx, conn)
			})
			cmd := c.Command("box", "false")
			err := cmd.Run(context.Background())
			var exitErr *ExitError
			if !errors.As(err, &exitErr) || exitErr.Code != tt.code || cmd.ExitCode() != tt.code {
				t.Fatalf("Run = %v (exit %d), want *ExitError %d", err, cmd.ExitCode(), tt.code)
			}
		})
	}
}

func TestRun_ReturnsOnTheExitFrameWithoutWaitingForTheServerClose(t *testing.T) {
	release := make(chan struct{})
	serverClosed := make(chan struct{})
	var once sync.Once
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		sendJSON(ctx, t, conn, sessionInfo(5))
		sendFrame(ctx, t, conn, StreamStdout, "done\n")
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
		// The service holds the socket about 5 s after the exit frame.
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		close(serverClosed)
		_ = conn.Close(websocket.StatusNormalClosure, "")
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before the server's Close
	var stdout bytes.Buffer
	cmd := c.Command("box", "echo", "done")
	cmd.Stdout = &stdout
	err := cmd.Run(context.Background())
	select {
	case <-serverClosed:
		t.Fatal("Run returned only after the server closed the socket")
	default:
	}
	once.Do(func() { close(release) })
	if err != nil || stdout.String() != "done\n" {
		t.Fatalf("Run = %v, stdout %q", err, stdout.String())
	}
}

func TestRun_SocketClosedWithoutExitFrameIsConnectionLost(t *testing.T) {
	tests := []struct {
		name  string
		close func(conn *websocket.Conn)
	}{
		{"normal close 1000", func(conn *websocket.Conn) { _ = conn.Close(websocket.StatusNormalClosure, "") }},
		{"abrupt TCP close", func(conn *websocket.Conn) { _ = conn.CloseNow() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
				sendJSON(ctx, t, conn, sessionInfo(1847))
				sendFrame(ctx, t, conn, StreamStdout, "partial")
				tt.close(conn)
			})
			var stdout bytes.Buffer
			cmd := c.Command("box", "sleep", "100")
			cmd.Stdout = &stdout
			err := cmd.Run(context.Background())
			var lost *ConnectionLostError
			if !errors.As(err, &lost) || lost.SessionID != 1847 {
				t.Fatalf("Run = %v, want *ConnectionLostError for session 1847", err)
			}
			if cmd.ExitCode() != -1 || stdout.String() != "partial" {
				t.Errorf("exit %d, stdout %q", cmd.ExitCode(), stdout.String())
			}
			if IsRetryable(err) {
				t.Error("a lost exec is retryable; the command may have run")
			}
		})
	}
}

func TestRun_ContextCancelIsConnectionLostWithTheSession(t *testing.T) {
	started := make(chan struct{})
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		sendJSON(ctx, t, conn, sessionInfo(99))
		_, _, _ = conn.Read(ctx) // stdin EOF
		_, _, _ = conn.Read(ctx)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cmd := c.Command("box", "sleep", "100")
	cmd.OnSession = func(int64) { close(started) }
	done := make(chan error, 1)
	go func() { done <- cmd.Run(ctx) }()
	<-started
	cancel()
	err := <-done
	var lost *ConnectionLostError
	if !errors.As(err, &lost) || lost.SessionID != 99 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want *ConnectionLostError(99) wrapping context.Canceled", err)
	}
}

func TestRun_KeepaliveGivesUpASilentSocket(t *testing.T) {
	interval, timeout := execPingInterval, execPingTimeout
	execPingInterval, execPingTimeout = 20*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { execPingInterval, execPingTimeout = interval, timeout })
	release := make(chan struct{})
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		sendJSON(ctx, t, conn, sessionInfo(42))
		<-release // never reads, so pings go unanswered
	})
	t.Cleanup(func() { close(release) })
	err := c.Command("box", "sleep", "100").Run(context.Background())
	var lost *ConnectionLostError
	if !errors.As(err, &lost) || lost.SessionID != 42 || !strings.Contains(err.Error(), "keepalive") {
		t.Fatalf("Run = %v, want a keepalive *ConnectionLostError for session 42", err)
	}
}

func TestRun_SendsStdinThenEOF(t *testing.T) {
	input := strings.Repeat("line of input\n", 5000) // several stdin frames
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		if r.URL.Query().Get("stdin") != "true" {
			t.Errorf("stdin = %q, want true", r.URL.Query().Get("stdin"))
		}
		sendJSON(ctx, t, conn, sessionInfo(7))
		got, err := readStdin(ctx, conn)
		if err != nil {
			t.Errorf("reading stdin: %v", err)
		}
		sendFrame(ctx, t, conn, StreamStdout, got)
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
	})
	var stdout bytes.Buffer
	cmd := c.Command("box", "cat")
	cmd.Stdin, cmd.Stdout = strings.NewReader(input), &stdout
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != input {
		t.Errorf("echoed %d bytes, want %d", stdout.Len(), len(input))
	}
}

func TestRun_NilStdinSendsEOFFirst(t *testing.T) {
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		// Nothing is sent until stdin EOF arrives, as a command reading
		// stdin would.
		_, msg, err := conn.Read(ctx)
		if err != nil || !bytes.Equal(msg, []byte{StreamStdinEOF}) {
			t.Errorf("first message = %v, %v; want stdin EOF", msg, err)
		}
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
	})
	if err := c.Command("box", "cat").Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRun_StdinReadErrorIsReported(t *testing.T) {
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		got, _ := readStdin(ctx, conn)
		sendFrame(ctx, t, conn, StreamStdout, got)
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
	})
	boom := errors.New("disk gone")
	cmd := c.Command("box", "cat")
	cmd.Stdin = io.MultiReader(strings.NewReader("part"), &failingReader{boom})
	if err := cmd.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the stdin error", err)
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestAttach_UsesThePathFormAndReplaysOutput(t *testing.T) {
	var path string
	var query url.Values
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		path, query = r.URL.Path, r.URL.Query()
		sendFrame(ctx, t, conn, StreamStdout, "buffered ") // may precede session_info
		sendJSON(ctx, t, conn, sessionInfo(1847))
		sendFrame(ctx, t, conn, StreamStdout, "live\n")
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
		_, _ = readStdin(ctx, conn)
	})
	var stdout bytes.Buffer
	cmd := c.Attach("box", 1847)
	cmd.Stdout = &stdout
	var announced int64
	cmd.OnSession = func(id int64) { announced = id }
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if path != "/v1/sprites/box/exec/1847" || query.Has("cmd") || query.Has("path") || query.Has("id") {
		t.Errorf("attach path %q query %v", path, query)
	}
	if stdout.String() != "buffered live\n" || announced != 1847 {
		t.Errorf("stdout %q, announced %d", stdout.String(), announced)
	}
}

func TestAttach_TTYSessionOutputIsRaw(t *testing.T) {
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		info := sessionInfo(3)
		info.TTY = true
		sendJSON(ctx, t, conn, info)
		_ = conn.Write(ctx, websocket.MessageBinary, []byte("\x02raw pty bytes"))
		code := 0
		sendJSON(ctx, t, conn, ControlMessage{Type: "exit", ExitCode: &code})
		_, _ = readStdin(ctx, conn)
	})
	var stdout bytes.Buffer
	cmd := c.Attach("box", 3)
	cmd.Stdout = &stdout
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "\x02raw pty bytes" {
		t.Errorf("stdout %q", stdout.String())
	}
}

func TestRun_RefusedUpgradeIsAnAPIError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		is     error
	}{
		{"unknown session", 404, `{"error":"session not found"}`, ErrNotFound},
		{"missing sprite as recorded", 500, `{"error":"failed to retrieve sprite"}`, ErrNotFound},
		{"bad token", 401, `{"error":"authentication failed"}`, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, tt.status, "application/json", tt.body)
			}))
			err := c.Attach("box", 5).Run(context.Background())
			var apiErr *APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, tt.is) {
				t.Fatalf("Run = %v, want *APIError matching %v", err, tt.is)
			}
		})
	}
}

func TestRun_CalledTwiceFails(t *testing.T) {
	c := execServer(t, func(ctx context.Context, conn *websocket.Conn, r *http.Request) {
		_ = conn.Write(ctx, websocket.MessageBinary, ExitFrame(0))
		_, _ = readStdin(ctx, conn)
	})
	cmd := c.Command("box", "true")
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}
