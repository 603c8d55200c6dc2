package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	domainSelector = regexp.MustCompile(`(sprite_sessions_\w+)\{([^}]*)\}`)
	exactMatcher   = regexp.MustCompile(`(\w+)\s*(?:=|!=)\s*"([^"]*)"`)
)

// packageSource concatenates a package's non-test Go files.
func packageSource(t *testing.T, dir string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
	}
	return b.String()
}

// TestAlertsAndDashboard_MatchLabelValuesTheCodeSets catches a selector that
// can never match, such as outcome="fail" where the code says "failed": the
// metric exists, so the name check passes, but the alert would never fire.
func TestAlertsAndDashboard_MatchLabelValuesTheCodeSets(t *testing.T) {
	workflowsSrc := packageSource(t, "../workflows")
	valid := map[string]func(string) bool{
		"outcome": func(v string) bool { return strings.Contains(workflowsSrc, strconv.Quote(v)) },
		"reason":  func(v string) bool { return strings.Contains(workflowsSrc, strconv.Quote(v)) },
		"update":  func(v string) bool { return strings.Contains(workflowsSrc, strconv.Quote(v)) },
		"dry_run": func(v string) bool { return v == "true" || v == "false" },
		"status": func(v string) bool {
			_, err := strconv.Atoi(v)
			return v == "error" || err == nil
		},
		"job": func(string) bool { return true },
	}
	var exprs []string
	for _, r := range alertRules(t) {
		exprs = append(exprs, fmt.Sprint(r["expr"]))
	}
	for _, es := range dashboardExprs(t) {
		exprs = append(exprs, es...)
	}
	var checked int
	for _, e := range exprs {
		for _, sel := range domainSelector.FindAllStringSubmatch(e, -1) {
			for _, m := range exactMatcher.FindAllStringSubmatch(sel[2], -1) {
				ok, known := valid[m[1]]
				if !known {
					t.Errorf("%s: label %s is not one the code sets (%q)", sel[1], m[1], e)
					continue
				}
				checked++
				if !ok(m[2]) {
					t.Errorf("%s{%s=%q}: the code never sets that value (%q)", sel[1], m[1], m[2], e)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no label matcher checked: the selector pattern is broken")
	}
}
