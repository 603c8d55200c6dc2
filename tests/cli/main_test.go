package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
)

// cliPackage is the import path of the command under test.
const cliPackage = "github.com/sprite-sessions/sprite-sessions/starter/cmd/sprite-sessions"

// cliBinary is the command, built once for every test of the package.
var cliBinary string

// runTimeout bounds one invocation of the command: a hang fails the test
// instead of the whole binary.
const runTimeout = 2 * time.Minute

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sprite-sessions-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cli tests:", err)
		os.Exit(1)
	}
	cliBinary = filepath.Join(dir, "sprite-sessions")
	build := exec.Command(goTool(), "build", "-o", cliBinary, cliPackage)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cli tests: building %s: %v\n%s", cliPackage, err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool finds the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// cli runs the command with an environment.
type cli struct {
	env []string
}

// result is one finished invocation.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("sprite-sessions %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// baseEnv is this process's environment without the variables the command
// reads, so that a developer's shell cannot point a test somewhere else.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "SPRITE_SESSIONS_") || strings.HasPrefix(kv, "SPRITES_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// offline is a command environment whose Temporal is a closed port: a
// command that should not dial fails loudly if it does.
func offline() *cli {
	return &cli{env: append(baseEnv(), "TEMPORAL_ADDRESS=127.0.0.1:1")}
}

// against points the command at a harness: its Temporal frontend and
// namespace, and its worker's task queue.
func against(env *harness.Env) *cli {
	return &cli{env: append(baseEnv(),
		"TEMPORAL_ADDRESS="+env.Server.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE="+env.Namespace,
		"SPRITE_SESSIONS_TASK_QUEUE="+env.TaskQueue,
	)}
}

// without returns a copy of c without the variable name.
func (c *cli) without(name string) *cli {
	var env []string
	for _, kv := range c.env {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return &cli{env: env}
}

func (c *cli) run(t *testing.T, args ...string) result {
	t.Helper()
	return c.runStdin(t, "", args...)
}

func (c *cli) runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("running sprite-sessions %s: %v\nstderr:\n%s", strings.Join(args, " "), err, r.stderr)
	}
	return r
}

// expect fails t unless the invocation exited with code.
func (r result) expect(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d; %s", code, r)
	}
	return r
}

// decode decodes the invocation's stdout strictly into a value of type T:
// an unknown or misspelt field fails the test.
func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding stdout as %T: %v\n%s", v, err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value\n%s", r)
	}
	return v
}

// errorOutput is the --json shape of a failed command.
type errorOutput struct {
	Error   string `json:"error"`
	Kind    string `json:"kind"`
	Type    string `json:"type"`
	Message string `json:"message"`
}
