package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// testContext bounds one test's calls.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// result is a call's answer and error, so that a test can check both in
// one expression: call(s.Exec(ctx, req)).must(t, "exec").
type result[T any] struct {
	v   T
	err error
}

func call[T any](v T, err error) result[T] { return result[T]{v, err} }

// must returns the answer, or fails the test naming what failed.
func (r result[T]) must(t *testing.T, what string) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	return r.v
}

// decoded returns a ReadFile answer's bytes.
func decoded(t *testing.T, r workflows.ReadFileResponse) []byte {
	t.Helper()
	if r.Truncated {
		t.Fatalf("read %s: content truncated (%d bytes)", r.Path, r.Size)
	}
	if r.Encoding == workflows.EncodingBase64 {
		b, err := base64.StdEncoding.DecodeString(r.Content)
		if err != nil {
			t.Fatalf("read %s: bad base64: %v", r.Path, err)
		}
		return b
	}
	return []byte(r.Content)
}

// allBytes is every byte value n times over: content that only survives
// byte for byte, never as text.
func allBytes(n int) []byte {
	b := make([]byte, 0, 256*n)
	for range n {
		for i := range 256 {
			b = append(b, byte(i))
		}
	}
	return b
}

// wantRejected fails unless err is the starter's RejectedError for op.
func wantRejected(t *testing.T, op string, err error) {
	t.Helper()
	var rej *starter.RejectedError
	switch {
	case err == nil:
		t.Errorf("%s: accepted, want a rejection", op)
	case !errors.As(err, &rej):
		t.Errorf("%s: error %v (%T), want a *starter.RejectedError", op, err, err)
	case rej.Op != op:
		t.Errorf("%s: rejected as %q", op, rej.Op)
	case strings.TrimSpace(rej.Message) == "":
		t.Errorf("%s: rejection without an explanation", op)
	}
}

// wantOperationError fails unless err is the starter's OperationError with
// this type.
func wantOperationError(t *testing.T, typ string, err error) {
	t.Helper()
	var opErr *starter.OperationError
	if !errors.As(err, &opErr) {
		t.Fatalf("error %v (%T), want a *starter.OperationError of type %s", err, err, typ)
	}
	if opErr.Type != typ {
		t.Fatalf("operation error type %q (%v), want %q", opErr.Type, opErr, typ)
	}
}

// sleepTag returns a duration argument for sleep that no other process on
// the machine uses, so the process can be found by its command line.
func sleepTag() string {
	return strconv.Itoa(100000 + rand.IntN(800000))
}

// processesWithArgs lists the live processes on this machine whose command
// line is exactly argv. The sprites' processes are processes of this
// machine in both sandbox modes (bubblewrap only hides the host from them),
// so this sees them without asking localsprites. Zombies have an empty
// command line and do not count.
func processesWithArgs(argv ...string) []int {
	want := strings.Join(argv, "\x00") + "\x00"
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(cmdline) == want {
			pids = append(pids, pid)
		}
	}
	return pids
}
