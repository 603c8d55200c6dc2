package workflows

import (
	"strings"
	"testing"
)

func TestProviderName_IsValidDeterministicAndDistinct(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct{ ns, session, sprite string }{
		{"default", "s1", "web"},
		{"default", "s1", long},
		{"default", "s1", long[:62] + "b"},
		{"default", "s2", "web"},
		{"other", "s1", "web"},
		{"default", "s1", "a-" + strings.Repeat("b", 60)},
	}
	seen := map[string]int{}
	for i, c := range cases {
		got := ProviderName(c.ns, c.session, c.sprite)
		if err := ValidateSpriteName(got); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
		if again := ProviderName(c.ns, c.session, c.sprite); again != got {
			t.Errorf("case %d: not deterministic: %q then %q", i, got, again)
		}
		if j, dup := seen[got]; dup {
			t.Errorf("cases %d and %d share provider name %q", j, i, got)
		}
		seen[got] = i
	}
}

func TestParseOwner_RoundTripsAndIgnoresForeignSprites(t *testing.T) {
	ns, wf, ok := ParseOwner(OwnerLabels("default", SessionWorkflowID("abc")))
	if !ok || ns != "default" || wf != "session/abc" {
		t.Fatalf("ParseOwner = %q %q %v", ns, wf, ok)
	}
	for _, labels := range [][]string{
		nil,
		{"team-x"},
		{OwnerLabel("default", "session/abc")}, // owner label without the managed marker
		{ManagedLabel},                         // marker without owner
		{ManagedLabel, "sprite-sessions-owner:nowf"},
	} {
		if _, _, ok := ParseOwner(labels); ok {
			t.Errorf("ParseOwner(%q) claimed ownership", labels)
		}
	}
}

func TestValidateSpriteName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "web-1": true, strings.Repeat("x", 63): true,
		"": false, "-a": false, "a-": false, "A": false, "a_b": false, strings.Repeat("x", 64): false,
	} {
		if got := ValidateSpriteName(name) == nil; got != want {
			t.Errorf("ValidateSpriteName(%q) ok=%v, want %v", name, got, want)
		}
	}
}
