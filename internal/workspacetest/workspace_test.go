// Package workspacetest makes the README's `go test ./...` cover the whole
// workspace. In Go 1.26 `./...` at the root matches only the root module's
// packages, even with go.work listing dev and tests; this test runs
// `go test ./...` inside each nested module and fails with it.
package workspacetest

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nestedModules are the workspace's modules other than the root.
var nestedModules = []string{"dev", "tests"}

func TestNestedModules(t *testing.T) {
	if os.Getenv("SPRITE_SESSIONS_SKIP_NESTED") == "1" {
		t.Skip("SPRITE_SESSIONS_SKIP_NESTED=1")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// go test caches this test's result by the files it opens: opening every
	// source file of the workspace makes any change re-run the nested tests.
	touchWorkspace(t, root)

	timeout := 9 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 30*time.Second
	}
	for _, mod := range nestedModules {
		t.Run(mod, func(t *testing.T) {
			args := []string{"test", "-timeout", timeout.Round(time.Second).String()}
			if testing.Short() {
				args = append(args, "-short")
			}
			if testing.Verbose() {
				args = append(args, "-v")
			}
			args = append(args, "./...")
			cmd := exec.Command("go", args...)
			cmd.Dir = filepath.Join(root, mod)
			var out bytes.Buffer
			cmd.Stdout = io.MultiWriter(&out, &prefixWriter{w: os.Stdout, prefix: mod + ": "})
			cmd.Stderr = cmd.Stdout
			if err := cmd.Run(); err != nil {
				t.Fatalf("go test ./... in %s: %v", mod, err)
			}
			if !strings.Contains(out.String(), "ok ") {
				t.Fatalf("go test ./... in %s ran no test package:\n%s", mod, out.String())
			}
		})
	}
}

func touchWorkspace(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" || name == "go.work" ||
			strings.Contains(path, string(filepath.Separator)+"testdata"+string(filepath.Separator)) {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, f)
			return f.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// prefixWriter prefixes every line, so nested output is told apart. It holds
// a partial line until its end arrives.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	pending []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.pending = append(p.pending, b...)
	for {
		i := bytes.IndexByte(p.pending, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := io.WriteString(p.w, p.prefix+string(p.pending[:i+1])); err != nil {
			return 0, err
		}
		p.pending = p.pending[i+1:]
	}
}
