package localsprites

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// slowWriter takes its writes in small pieces with a pause after each, so
// that the client falls far behind the command.
type slowWriter struct {
	w     io.Writer
	pause time.Duration
}

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.pause) // simulates a slow reader; nothing waits on it
	return s.w.Write(p)
}

// A command writing far more than the session's buffer, to a fast and to a
// slow client, over WebSocket and HTTP: every byte arrives, in order. The
// buffer holds back the command instead of dropping output a client has
// not yet sent.
func TestExec_OutputLargerThanTheBufferArrivesWhole(t *testing.T) {
	ts := start(t, Config{Sandbox: SandboxPlain, SessionBufferBytes: 64 << 10})
	ts.create("big")
	c := sprites.New(testToken, sprites.WithBaseURL(ts.srv.URL()))
	// About 4 MB of numbered lines, 60 times the buffer.
	want, err := exec.Command("seq", "1", "600000").Output()
	if err != nil {
		t.Skipf("seq: %v", err)
	}
	sum := sha256.Sum256(want)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	check := func(t *testing.T, got []byte) {
		t.Helper()
		if len(got) != len(want) || sha256.Sum256(got) != sum {
			t.Errorf("got %d bytes (sha256 match %v), want %d", len(got), sha256.Sum256(got) == sum, len(want))
		}
	}
	for _, tc := range []struct {
		name  string
		pause time.Duration
	}{{"FastClient", 0}, {"SlowClient", time.Millisecond}} {
		t.Run("WebSocket"+tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := c.Command("big", "seq", "1", "600000")
			cmd.Stdout = slowWriter{&out, tc.pause}
			if err := cmd.Run(ctx); err != nil {
				t.Fatal(err)
			}
			check(t, out.Bytes())
		})
	}
	// HTTP exec frames have no length: a client that sees merged chunks
	// (Go's does) can take a stream byte for content, so only "nothing
	// lost" can be checked here: every byte and the last line arrive.
	t.Run("HTTP", func(t *testing.T) {
		stdout, _, code, err := c.ExecHTTP(ctx, "big", []string{"sh", "-c", "seq 1 600000"}, nil, "", nil)
		if err != nil || code != 0 {
			t.Fatalf("exit %d, %v", code, err)
		}
		if len(stdout) < len(want) || !bytes.HasSuffix(stdout, []byte("\n599999\n600000\n")) {
			t.Errorf("got %d bytes ending %q, want at least %d ending with 600000", len(stdout), stdout[max(0, len(stdout)-20):], len(want))
		}
	})
}
