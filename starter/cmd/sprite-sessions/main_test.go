package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// runCLI runs the CLI with an environment that points Temporal at a closed
// port, so a test that reaches for the network fails loudly instead of
// finding some server.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := envconfig.MapLookuper(map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"})
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, env)
	return code, out.String(), errb.String()
}

func TestRun_ReturnsUsageCodeForBadInvocations(t *testing.T) {
	cases := map[string][]string{
		"no command":             nil,
		"unknown command":        {"frobnicate"},
		"unknown flag":           {"list", "--session", "s1", "--bogus"},
		"missing session":        {"list"},
		"missing sprite":         {"create", "--session", "s1"},
		"exec without a command": {"exec", "--session", "s1", "--sprite", "web"},
		"read without a path":    {"read", "--session", "s1", "--sprite", "web"},
		"write without content":  {"write", "--session", "s1", "--sprite", "web", "a.txt"},
		"restore without id":     {"restore", "--session", "s1", "--sprite", "web"},
		"risky without steps":    {"risky", "--session", "s1", "--sprite", "web"},
		"stray argument":         {"describe", "--session", "s1", "extra"},
		"bad tools format":       {"tools", "--format", "yaml"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if strings.Contains(stderr, "cannot reach Temporal") {
				t.Errorf("bad usage dialled Temporal: %s", stderr)
			}
		})
	}
}

func TestRun_HelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"exec", "-h"}} {
		if code, _, stderr := runCLI(t, args...); code != exitOK {
			t.Errorf("%v: exit code %d; stderr:\n%s", args, code, stderr)
		}
	}
}

func TestRun_UnreachableTemporalIsAnOperationFailure(t *testing.T) {
	code, stdout, stderr := runCLI(t, "describe", "--session", "s1", "--json")
	if code != exitFailed {
		t.Fatalf("exit code = %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr, "TEMPORAL_ADDRESS") {
		t.Errorf("stderr does not say how to fix it: %s", stderr)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(stdout), &e); err != nil || e["kind"] != "error" {
		t.Errorf("--json error output = %q (%v)", stdout, err)
	}
}

func TestRun_ToolsPrintsEveryToolInBothFormats(t *testing.T) {
	code, stdout, _ := runCLI(t, "tools")
	var anthropic []struct {
		Name        string         `json:"name"`
		InputSchema map[string]any `json:"input_schema"`
	}
	if err := json.Unmarshal([]byte(stdout), &anthropic); err != nil || code != exitOK {
		t.Fatalf("tools: code %d, %v\n%s", code, err, stdout)
	}
	code, stdout, _ = runCLI(t, "tools", "--format", "openai")
	var openai []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string         `json:"name"`
			Parameters map[string]any `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(stdout), &openai); err != nil || code != exitOK {
		t.Fatalf("tools --format openai: code %d, %v", code, err)
	}
	if len(anthropic) != len(starter.Tools()) || len(openai) != len(anthropic) {
		t.Fatalf("got %d and %d tools, want %d", len(anthropic), len(openai), len(starter.Tools()))
	}
	for i := range anthropic {
		if openai[i].Type != "function" || openai[i].Function.Name != anthropic[i].Name ||
			!reflect.DeepEqual(openai[i].Function.Parameters, anthropic[i].InputSchema) {
			t.Errorf("tool %d differs between formats: %+v vs %+v", i, openai[i], anthropic[i])
		}
	}
}

func TestExitCode_SeparatesRejectionsFromFailures(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{usagef("bad"), exitUsage},
		{&starter.RejectedError{Op: "Exec", Message: "bad sprite_name"}, exitUsage},
		{fmt.Errorf("wrapped: %w", &starter.RejectedError{Op: "Exec"}), exitUsage},
		{&starter.RejectedError{Op: "Exec", Message: "moving to a new run", Continuing: true}, exitFailed},
		{&starter.OperationError{Op: "Exec", Type: "NotFound"}, exitFailed},
		{fmt.Errorf("x: %w", starter.ErrSessionNotFound), exitFailed},
		{&exitCodeError{code: exitFailed}, exitFailed},
		{errors.New("network down"), exitFailed},
	}
	for _, tc := range cases {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestErrorJSON_NamesTheKind(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&starter.RejectedError{Op: "Exec", Message: "m"}, "rejected"},
		{&starter.OperationError{Op: "Exec", Type: "Conflict"}, "failed"},
		{fmt.Errorf("x: %w", starter.ErrSessionNotFound), "session_not_found"},
		{fmt.Errorf("x: %w", starter.ErrSessionClosed), "session_closed"},
		{usagef("u"), "usage"},
	}
	for _, tc := range cases {
		if got := errorJSON(tc.err)["kind"]; got != tc.want {
			t.Errorf("kind of %v = %v, want %s", tc.err, got, tc.want)
		}
	}
	if got := errorJSON(&starter.RejectedError{Op: "Exec", Continuing: true})["retry"]; got != true {
		t.Errorf("retry of a Continuing rejection = %v, want true", got)
	}
	if got, ok := errorJSON(&starter.RejectedError{Op: "Exec"})["retry"]; ok {
		t.Errorf("retry of a plain rejection = %v, want no field", got)
	}
	if got := errorJSON(&starter.OperationError{Op: "Exec", Type: "Conflict"})["type"]; got != "Conflict" {
		t.Errorf("type = %v", got)
	}
}

func TestParse_AcceptsFlagsAfterArgumentsUntilDoubleDash(t *testing.T) {
	cases := []struct {
		args       []string
		wantPos    []string
		wantSprite string
	}{
		{[]string{"--sprite", "web", "a.txt"}, []string{"a.txt"}, "web"},
		{[]string{"a.txt", "--sprite", "web"}, []string{"a.txt"}, "web"},
		{[]string{"--sprite", "web", "--", "--sprite", "x"}, []string{"--sprite", "x"}, "web"},
	}
	for _, tc := range cases {
		a := &app{env: envconfig.MapLookuper(nil), stderr: io.Discard}
		pos, err := a.parse(a.flags("read", true), tc.args)
		if err != nil || !reflect.DeepEqual(pos, tc.wantPos) || a.sprite != tc.wantSprite {
			t.Errorf("parse(%q) = %q, sprite %q, %v; want %q, sprite %q", tc.args, pos, a.sprite, err, tc.wantPos, tc.wantSprite)
		}
	}
	a := &app{env: envconfig.MapLookuper(nil), stderr: io.Discard}
	pos, err := a.parseCommand(a.flags("exec", true), []string{"--sprite", "web", "ls", "-la"})
	if err != nil || !reflect.DeepEqual(pos, []string{"ls", "-la"}) {
		t.Errorf("exec's command lost its flags: %q, %v", pos, err)
	}
}

func TestRiskyRequest_AssignsCommandsToSprites(t *testing.T) {
	one, err := riskyRequest([]string{"web"}, []string{"make: all"}, "make test")
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.RiskyStepRequest{Sprites: []string{"web"},
		Steps: []workflows.RiskyCommand{{Command: "make: all"}}, Verify: &workflows.RiskyCommand{Command: "make test"}}
	if !reflect.DeepEqual(one, want) {
		t.Errorf("one sprite: %+v, want %+v", one, want)
	}
	two, err := riskyRequest([]string{"web", "db"}, []string{"web: make", "db:migrate up"}, "web:curl -f localhost")
	if err != nil {
		t.Fatal(err)
	}
	wantSteps := []workflows.RiskyCommand{{SpriteName: "web", Command: "make"}, {SpriteName: "db", Command: "migrate up"}}
	if !reflect.DeepEqual(two.Steps, wantSteps) || two.Verify.SpriteName != "web" || two.Verify.Command != "curl -f localhost" {
		t.Errorf("two sprites: %+v", two)
	}
	if _, err := riskyRequest([]string{"web", "db"}, []string{"cache: flush"}, ""); err == nil {
		t.Error("a command naming an unlisted sprite was accepted")
	}
}

func TestTemporalEnv_ReadsTheWorkersVariables(t *testing.T) {
	ctx := context.Background()
	load := func(m map[string]string) (client.Options, error) {
		t.Helper()
		e, err := loadTemporalEnv(ctx, envconfig.MapLookuper(m))
		if err != nil {
			return client.Options{}, err
		}
		return clientOptions(e)
	}

	opts, err := load(nil)
	if err != nil || opts.HostPort != "localhost:7233" || opts.Namespace != "default" ||
		opts.ConnectionOptions.TLS != nil || opts.Credentials != nil || opts.Logger == nil {
		t.Errorf("defaults: %+v, %v", opts, err)
	}
	opts, err = load(map[string]string{"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "ns.acct", "TEMPORAL_API_KEY": "k"})
	if err != nil || opts.ConnectionOptions.TLS == nil || opts.Credentials == nil || opts.Namespace != "ns.acct" {
		t.Errorf("API key: TLS %v, credentials %v, err %v", opts.ConnectionOptions.TLS, opts.Credentials, err)
	}
	if _, err := load(map[string]string{"TEMPORAL_TLS": "maybe"}); err == nil {
		t.Error("TEMPORAL_TLS=maybe: no error")
	}
}

func TestRun_TaskQueueDefaultsToTheWorkersVariable(t *testing.T) {
	a := &app{env: envconfig.MapLookuper(map[string]string{taskQueueEnv: "other-queue"}), stderr: io.Discard}
	if _, err := a.parse(a.flags("list", false), nil); err != nil {
		t.Fatal(err)
	}
	if a.taskQueue != "other-queue" {
		t.Errorf("task queue = %q, want the worker's variable", a.taskQueue)
	}
}
