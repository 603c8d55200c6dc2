package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

const secret = "acme/cli/s3cr3t"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestParseFlags_NeverPrintsTheToken asks for the usage text, and makes a
// bad flag print it, with the token in the environment: a flag default
// would show it in both.
func TestParseFlags_NeverPrintsTheToken(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-no-such-flag"}, {"-sandbox", "bogus"}} {
		var out bytes.Buffer
		_, err := parseFlags(args, env(map[string]string{"SPRITES_TOKEN": secret}), &out)
		if err == nil {
			t.Fatalf("parseFlags(%q) succeeded", args)
		}
		if strings.Contains(out.String(), secret) || strings.Contains(err.Error(), secret) {
			t.Fatalf("parseFlags(%q) printed the token: %s / %v", args, out.String(), err)
		}
	}
}

func TestParseFlags_TokenFromFlagOrEnvironment(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"environment", nil, map[string]string{"SPRITES_TOKEN": secret}, secret},
		{"flag wins", []string{"-token", "flag-token"}, map[string]string{"SPRITES_TOKEN": secret}, "flag-token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, env(tc.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if o.cfg.Token != tc.want {
				t.Fatalf("token %q, want %q", o.cfg.Token, tc.want)
			}
		})
	}
	if _, err := parseFlags(nil, env(nil), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "SPRITES_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	if _, err := parseFlags([]string{"-h"}, env(nil), &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}
