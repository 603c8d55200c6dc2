package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
)

// workerProc is one running worker process.
type workerProc struct {
	name        string
	cmd         *exec.Cmd
	metricsAddr string
	output      *syncBuffer // stdout and stderr, interleaved
	done        chan struct{}
	waitErr     error
}

// startWorker starts the worker binary with exactly env. The process is
// killed in t.Cleanup if it is still running, and its output is attached
// to the test log when the test fails.
func startWorker(t *testing.T, name, metricsAddr string, env []string) *workerProc {
	t.Helper()
	p := &workerProc{name: name, metricsAddr: metricsAddr, output: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(workerBin)
	p.cmd.Env = env
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting worker %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() || os.Getenv("PROCESS_TEST_LOGS") == "1" {
			t.Logf("output of worker %s:\n%s", name, p.output.String())
		}
	})
	return p
}

// exited reports whether the process has exited.
func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to timeout for the process to exit and returns its
// exit code.
func (p *workerProc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("worker %s still running %v after it was asked to stop", p.name, timeout)
	}
	var exitErr *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0
	case errors.As(p.waitErr, &exitErr):
		return exitErr.ExitCode()
	default:
		t.Fatalf("waiting for worker %s: %v", p.name, p.waitErr)
		return -1
	}
}

func (p *workerProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling worker %s: %v", p.name, err)
	}
}

// get fetches path from the process's metrics listener.
func (p *workerProc) get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metricsAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitStatus polls path until it answers want. There is no event to await
// from another process, hence the poll.
func (p *workerProc) waitStatus(t *testing.T, path string, want int) string {
	t.Helper()
	var last string
	harness.WaitUntil(t, processTimeout, fmt.Sprintf("%s of worker %s to answer %d", path, p.name, want), func() bool {
		if p.exited() {
			t.Fatalf("worker %s exited (%v) before %s answered %d:\n%s", p.name, p.waitErr, path, want, p.output.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code, body, err := p.get(ctx, path)
		last = fmt.Sprintf("%d %q %v", code, body, err)
		return err == nil && code == want
	})
	return last
}

// assertNoToken fails t when the process printed the token, and when it
// printed nothing at all (a scan of nothing proves nothing).
func (p *workerProc) assertNoToken(t *testing.T, token string) {
	t.Helper()
	out := p.output.String()
	if strings.TrimSpace(out) == "" {
		t.Errorf("worker %s printed nothing: its logs cannot be checked for the token", p.name)
	}
	if strings.Contains(out, token) {
		t.Errorf("worker %s printed the Sprites token", p.name)
	}
}

// syncBuffer is a bytes.Buffer that the process's output copier and the
// test can use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
