package starter

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// serverModule must never be in the graph of a module that imports starter:
// it is huge and drags in databases and cloud SDKs.
const serverModule = "go.temporal.io/server"

// goCmd runs the go command; env adds to the environment.
func goCmd(t *testing.T, env []string, args ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestStarter_DoesNotPullTheTemporalServerIntoTheModuleGraph(t *testing.T) {
	// Outside the workspace (which holds dev/ and tests/, both needing the
	// server) the graph is the root module's own, as an importer sees it.
	graph := goCmd(t, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, "mod", "graph")
	if !strings.Contains(graph, "go.temporal.io/sdk@") {
		t.Fatalf("go mod graph looks wrong, no SDK in:\n%s", graph)
	}
	for _, line := range strings.Split(graph, "\n") {
		if strings.Contains(line, serverModule+"@") {
			t.Fatalf("module graph of the root module contains %s: %s", serverModule, line)
		}
	}
}

func TestStarter_DoesNotImportTheTemporalServer(t *testing.T) {
	// -e: a package another change has broken still lists its imports.
	deps := goCmd(t, nil, "list", "-e", "-deps", ".", "./cmd/...")
	for _, pkg := range strings.Split(deps, "\n") {
		if strings.HasPrefix(pkg, serverModule) {
			t.Fatalf("starter depends on %s", pkg)
		}
	}
	if !strings.Contains(deps, "go.temporal.io/sdk/client") {
		t.Fatalf("go list -deps looks wrong, no SDK client in:\n%s", deps)
	}
}
