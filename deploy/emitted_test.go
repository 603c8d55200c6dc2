package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/worker"
)

// emittedMetrics returns every series name the worker's /metrics can
// expose. Each name comes out of the worker's own registry and
// client.MetricsHandler, so the _total and _seconds suffixes are the real
// ones:
//   - the Sprites API series, from real calls through
//     worker.InstrumentTransport to a loopback server;
//   - the workflow-side counters, from the string constants of the workflows
//     and reaper packages (read from their sources);
//   - the SDK's series, from the constants of the SDK version in go.mod, with
//     their kind (counter, timer, gauge) taken from the SDK's call sites;
//   - the Go runtime and process collectors.
//
// A histogram contributes its _bucket, _sum and _count series.
func emittedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := worker.NewMetrics()
	h := m.Handler()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: worker.InstrumentTransport(tr, h)}
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/v1/sprites"},
		{http.MethodGet, "/v1/sprites/s1"},
		{http.MethodDelete, "/v1/sprites/s1"},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}

	for _, dir := range []string{"../workflows", "../reaper"} {
		for _, name := range domainCounters(t, dir) {
			h.Counter(name).Inc(1)
		}
	}
	for name, kind := range sdkMetrics(t) {
		switch kind {
		case "Counter":
			h.Counter(name).Inc(1)
		case "Timer":
			h.Timer(name).Record(0)
		case "Gauge":
			h.Gauge(name).Update(1)
		}
	}

	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gathering the worker's registry: %v", err)
	}
	names := map[string]bool{}
	for _, f := range families {
		n := f.GetName()
		if f.GetType().String() == "HISTOGRAM" {
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
			continue
		}
		names[n] = true
	}
	return names
}

// parsePackage parses the non-test Go files of one directory.
func parsePackage(t *testing.T, dir string) (*token.FileSet, []*ast.File) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("%s: no Go files", dir)
	}
	return fset, files
}

// domainCounters returns the metric names a workflow-side package declares
// (string constants starting with sprite_sessions_) and uses. Those packages
// emit counters only; a Timer or Gauge call there would make the kind of a
// name ambiguous, so it fails the test until this function learns the kind.
func domainCounters(t *testing.T, dir string) []string {
	t.Helper()
	fset, files := parsePackage(t, dir)
	consts := map[string]string{} // identifier -> value
	uses := map[string]int{}
	counterCalls := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if i >= len(n.Values) {
						break
					}
					if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(v, "sprite_sessions_") {
							consts[id.Name] = v
						}
					}
				}
			case *ast.Ident:
				uses[n.Name]++
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch sel.Sel.Name {
					case "Counter":
						counterCalls++
					case "Timer", "Gauge":
						t.Errorf("%s: %s call: teach domainCounters the kinds of this package's metrics", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if counterCalls == 0 {
		t.Fatalf("%s: no Counter call: where are its metrics emitted?", dir)
	}
	var names []string
	for id, v := range consts {
		// The declaration is one use; a constant nothing reads is not emitted.
		if uses[id] < 2 {
			continue
		}
		names = append(names, v)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("%s: no sprite_sessions_* metric constant found", dir)
	}
	return names
}

// sdkMetrics returns the SDK's metric names (the constants of
// internal/common/metrics) that the SDK passes to Counter, Timer or Gauge,
// with that kind.
func sdkMetrics(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("locating go.temporal.io/sdk: %v", err)
	}
	sdk := strings.TrimSpace(string(out))
	metricsDir := filepath.Join(sdk, "internal", "common", "metrics")

	_, mfiles := parsePackage(t, metricsDir)
	raw := map[string]ast.Expr{}
	for _, f := range mfiles {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i < len(vs.Values) {
						raw[id.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	var eval func(ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return "", false
			}
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		case *ast.Ident:
			if r, ok := raw[e.Name]; ok {
				return eval(r)
			}
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				a, ok1 := eval(e.X)
				b, ok2 := eval(e.Y)
				return a + b, ok1 && ok2
			}
		}
		return "", false
	}
	names := map[string]string{} // identifier -> metric name
	for id, e := range raw {
		if v, ok := eval(e); ok && strings.HasPrefix(v, "temporal_") && v != "temporal_" {
			names[id] = v
		}
	}

	kinds := map[string]string{}
	record := func(pos token.Position, name, kind string) {
		if k, ok := kinds[name]; ok && k != kind {
			t.Errorf("%s: %s used as %s and %s", pos, name, k, kind)
		}
		kinds[name] = kind
	}
	for _, dir := range []string{filepath.Join(sdk, "internal"), metricsDir} {
		fset, files := parsePackage(t, dir)
		for _, f := range files {
			inMetrics := f.Name.Name == "metrics"
			// resolve maps an expression to the SDK metric constant it names.
			resolve := func(e ast.Expr) (string, bool) {
				switch e := e.(type) {
				case *ast.SelectorExpr:
					if x, ok := e.X.(*ast.Ident); ok && x.Name == "metrics" {
						v, ok := names[e.Sel.Name]
						return v, ok
					}
				case *ast.Ident:
					if inMetrics {
						v, ok := names[e.Name]
						return v, ok
					}
				}
				return "", false
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				// Local variables that hold a metric name before the call
				// (metric := TemporalRequest; if ... { metric = ... }).
				vars := map[string][]string{}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
						for i, l := range as.Lhs {
							if id, ok := l.(*ast.Ident); ok {
								if v, ok := resolve(as.Rhs[i]); ok {
									vars[id.Name] = append(vars[id.Name], v)
								}
							}
						}
					}
					return true
				})
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) != 1 {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					kind := sel.Sel.Name
					if kind != "Counter" && kind != "Timer" && kind != "Gauge" {
						return true
					}
					pos := fset.Position(call.Pos())
					if v, ok := resolve(call.Args[0]); ok {
						record(pos, v, kind)
					} else if id, ok := call.Args[0].(*ast.Ident); ok {
						for _, v := range vars[id.Name] {
							record(pos, v, kind)
						}
					}
					return true
				})
			}
		}
	}
	if len(kinds) < 20 {
		t.Fatalf("found %d SDK metrics with a known kind in %s; the SDK's layout changed?", len(kinds), sdk)
	}
	return kinds
}
