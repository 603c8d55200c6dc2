package cli

import (
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

func TestCLI_DemoRunsToTheEndAndLeavesNoSprites(t *testing.T) {
	env := harness.New(t)
	c := against(env)
	r := c.run(t, "demo", "--session", "cli-demo").expect(t, exitOK)
	for _, want := range []string{"[1/", "restored", "Done in"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q\n%s", want, r)
		}
	}
	d := decode[workflows.DescribeResponse](t, c.run(t, "describe", "--session", "cli-demo", "--json").expect(t, exitOK))
	if d.State != workflows.StateEnded || d.Counters.RiskyRestored != 1 {
		t.Errorf("the demo's session: state %q, %d risky restores; want ended and 1", d.State, d.Counters.RiskyRestored)
	}

	// --json prints the progress on stderr and one JSON value on stdout.
	j := c.run(t, "demo", "--session", "cli-demo-json", "--json").expect(t, exitOK)
	if ok := decode[map[string]bool](t, j); !ok["ok"] || !strings.Contains(j.stderr, "Done in") {
		t.Errorf("demo --json: stdout %q, progress on stderr %t", j.stdout, strings.Contains(j.stderr, "Done in"))
	}
	env.AssertNoSprites(t)
}
