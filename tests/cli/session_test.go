package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// The command's documented exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

var checkpointID = regexp.MustCompile(`^v[0-9]+$`)

// TestCLI_DrivesASessionThroughEveryCommand runs one session through every
// session command, in human and --json output, and ends with the leak
// audit.
func TestCLI_DrivesASessionThroughEveryCommand(t *testing.T) {
	env := harness.New(t)
	c := against(env)
	session := []string{"--session", "cli-every"}
	with := func(args ...string) []string { return append(args, session...) }
	// Flags go first: exec takes everything after "--" as the command.
	web := func(cmd string, args ...string) []string {
		return append(append([]string{cmd, "--sprite", "web"}, session...), args...)
	}

	t.Run("CreateAnswersCreatedSpriteThenIsIdempotent", func(t *testing.T) {
		r := decode[workflows.CreateSpriteResponse](t, c.run(t, web("create", "--json")...).expect(t, exitOK))
		if r.SpriteName != "web" || !r.Created || r.WorkspacePath != workflows.WorkspacePath || r.Status == "" {
			t.Errorf("create --json = %+v, want web created with workspace %s", r, workflows.WorkspacePath)
		}
		again := c.run(t, web("create")...).expect(t, exitOK)
		if !strings.Contains(again.stdout, "already in the session") {
			t.Errorf("second create printed %q, want it to say the sprite is already in the session", again.stdout)
		}
	})

	t.Run("WriteThenReadReturnsContent", func(t *testing.T) {
		w := decode[workflows.WriteFileResponse](t, c.run(t, web("write", "notes/hello.txt", "--content", "hello, cli", "--json")...).expect(t, exitOK))
		if !w.Success || w.Size != int64(len("hello, cli")) || !strings.HasSuffix(w.Path, "notes/hello.txt") {
			t.Errorf("write --json = %+v", w)
		}
		if got := c.run(t, web("read", "notes/hello.txt")...).expect(t, exitOK).stdout; got != "hello, cli" {
			t.Errorf("read printed %q, want %q", got, "hello, cli")
		}
		r := decode[workflows.ReadFileResponse](t, c.run(t, web("read", "notes/hello.txt", "--json")...).expect(t, exitOK))
		if r.Content != "hello, cli" || r.Encoding != workflows.EncodingUTF8 || r.Size != int64(len("hello, cli")) {
			t.Errorf("read --json = %+v", r)
		}
		// Binary content from stdin round-trips through base64.
		bin := "\x00\x01\xfe\xff binary"
		c.runStdin(t, bin, web("write", "bin.dat", "--from", "-", "--mode", "0600")...).expect(t, exitOK)
		if got := c.run(t, web("read", "bin.dat")...).expect(t, exitOK).stdout; got != bin {
			t.Errorf("read of binary file = %q, want %q", got, bin)
		}
		rb := decode[workflows.ReadFileResponse](t, c.run(t, web("read", "bin.dat", "--json")...).expect(t, exitOK))
		if rb.Encoding != workflows.EncodingBase64 {
			t.Errorf("read --json of binary file: encoding %q, want base64", rb.Encoding)
		}
	})

	t.Run("ReadOfMissingFileFails", func(t *testing.T) {
		r := c.run(t, web("read", "no/such/file", "--json")...).expect(t, exitFailed)
		if e := decode[errorOutput](t, r); e.Kind != "failed" || e.Error == "" {
			t.Errorf("read of a missing file --json = %+v, want kind failed", e)
		}
	})

	t.Run("ExecPrintsOutputAndExitsZero", func(t *testing.T) {
		r := c.run(t, web("exec", "--", "cat notes/hello.txt; echo; echo to-stderr >&2")...).expect(t, exitOK)
		if r.stdout != "hello, cli\n" || !strings.Contains(r.stderr, "to-stderr") {
			t.Errorf("exec: stdout %q stderr %q", r.stdout, r.stderr)
		}
		j := decode[workflows.ExecResponse](t, c.run(t, web("exec", "--json", "--env", "GREETING=hi", "--dir", "notes", "--", "echo $GREETING; ls")...).expect(t, exitOK))
		if j.ExitCode != 0 || j.Stdout != "hi\nhello.txt\n" || j.SpriteName != "web" {
			t.Errorf("exec --json = %+v, want exit 0 and stdout \"hi\\nhello.txt\\n\"", j)
		}
		argv := c.run(t, web("exec", "--", "printf", "%s|", "a b", "c")...).expect(t, exitOK)
		if argv.stdout != "a b|c|" {
			t.Errorf("exec with argv printed %q, want %q", argv.stdout, "a b|c|")
		}
		in := c.runStdin(t, "fed through stdin", web("exec", "--stdin", "-", "--", "cat")...).expect(t, exitOK)
		if in.stdout != "fed through stdin" {
			t.Errorf("exec --stdin - printed %q", in.stdout)
		}
	})

	t.Run("ExecWithNonZeroExitIsOperationFailure", func(t *testing.T) {
		r := c.run(t, web("exec", "--", "echo partial; exit 3")...).expect(t, exitFailed)
		if r.stdout != "partial\n" || !strings.Contains(r.stderr, "exit code 3") {
			t.Errorf("exec exiting 3: stdout %q stderr %q, want the output and the command's exit code reported", r.stdout, r.stderr)
		}
		j := decode[workflows.ExecResponse](t, c.run(t, web("exec", "--json", "--", "exit 3")...).expect(t, exitFailed))
		if j.ExitCode != 3 {
			t.Errorf("exec --json exiting 3 = %+v, want exit_code 3", j)
		}
	})

	var cp string
	t.Run("CheckpointThenRestoreBringsFilesBack", func(t *testing.T) {
		r := decode[workflows.CheckpointResponse](t, c.run(t, web("checkpoint", "--comment", "cli test", "--json")...).expect(t, exitOK))
		if !checkpointID.MatchString(r.CheckpointID) || !r.Success || r.SpriteName != "web" {
			t.Fatalf("checkpoint --json = %+v, want a vN id", r)
		}
		cp = r.CheckpointID
		c.run(t, web("write", "notes/hello.txt", "--content", "overwritten")...).expect(t, exitOK)
		rr := decode[workflows.RestoreCheckpointResponse](t, c.run(t, web("restore", "--checkpoint", cp, "--json")...).expect(t, exitOK))
		if !rr.Restored || rr.CheckpointID != cp {
			t.Errorf("restore --json = %+v", rr)
		}
		if got := c.run(t, web("read", "notes/hello.txt")...).expect(t, exitOK).stdout; got != "hello, cli" {
			t.Errorf("after restore: %q, want %q", got, "hello, cli")
		}
		human := c.run(t, web("checkpoint")...).expect(t, exitOK)
		if !strings.Contains(human.stdout, "checkpoint v") {
			t.Errorf("checkpoint printed %q", human.stdout)
		}
	})

	t.Run("RestoreOfUnknownCheckpointFails", func(t *testing.T) {
		// The ID is well formed, so the session accepts the call; the
		// backend's stream then says it does not exist.
		r := c.run(t, web("restore", "--checkpoint", "v999", "--json")...).expect(t, exitFailed)
		if e := decode[errorOutput](t, r); e.Kind != "failed" || e.Type != "NotFound" || !strings.Contains(e.Message, "v999") {
			t.Errorf("restore of an unknown checkpoint --json = %+v, want a failed NotFound naming v999", e)
		}
	})

	t.Run("URLNamesTheSpriteURL", func(t *testing.T) {
		r := decode[workflows.ServiceURLResponse](t, c.run(t, web("url", "--json")...).expect(t, exitOK))
		if r.URL == "" || r.SpriteName != "web" {
			t.Errorf("url --json = %+v, want a URL", r)
		}
		if h := c.run(t, web("url")...).expect(t, exitOK); !strings.Contains(h.stdout, r.URL) {
			t.Errorf("url printed %q, want it to contain %s", h.stdout, r.URL)
		}
	})

	t.Run("RiskyRestoresWhenVerifyFails", func(t *testing.T) {
		r := c.run(t, web("risky", "--step", "printf broken > notes/hello.txt", "--verify", "grep -q hello notes/hello.txt", "--json")...).expect(t, exitFailed)
		j := decode[workflows.RiskyStepResponse](t, r)
		if j.Success || !j.Restored || !checkpointID.MatchString(j.Checkpoints["web"]) || j.Verify == nil || j.Verify.ExitCode == 0 {
			t.Errorf("risky --json = %+v, want a failed verify and a restore", j)
		}
		if got := c.run(t, web("read", "notes/hello.txt")...).expect(t, exitOK).stdout; got != "hello, cli" {
			t.Errorf("after the restored risky step: %q, want %q", got, "hello, cli")
		}
		ok := c.run(t, web("risky", "--step", "echo fine > notes/ok.txt", "--verify", "test -s notes/ok.txt")...).expect(t, exitOK)
		if !strings.Contains(ok.stdout, "success") {
			t.Errorf("successful risky printed %q", ok.stdout)
		}
	})

	t.Run("ListAndDescribeShowTheSession", func(t *testing.T) {
		l := decode[workflows.ListSpritesResponse](t, c.run(t, with("list", "--json")...).expect(t, exitOK))
		if l.Count != 1 || len(l.Sprites) != 1 || l.Sprites[0].SpriteName != "web" || len(l.Sprites[0].Checkpoints) == 0 {
			t.Errorf("list --json = %+v, want web with its checkpoints", l)
		}
		if h := c.run(t, with("list")...).expect(t, exitOK); !strings.Contains(h.stdout, "web") {
			t.Errorf("list printed %q", h.stdout)
		}
		d := decode[workflows.DescribeResponse](t, c.run(t, with("describe", "--json")...).expect(t, exitOK))
		if d.State != workflows.StateActive || d.Counters.Execs == 0 || d.Counters.RiskyRestored != 1 || len(d.Sprites) != 1 {
			t.Errorf("describe --json = %+v", d)
		}
		if h := c.run(t, with("describe")...).expect(t, exitOK); !strings.Contains(h.stdout, "active") {
			t.Errorf("describe printed %q", h.stdout)
		}
	})

	t.Run("TaskQueueFlagReplacesTheVariable", func(t *testing.T) {
		// Without the variable the default queue has no worker: only the
		// flag can make this create complete.
		r := c.without("SPRITE_SESSIONS_TASK_QUEUE").run(t,
			"create", "--sprite", "flagged", "--task-queue", env.TaskQueue, "--json", "--session", session[1]+"-q")
		res := decode[workflows.CreateSpriteResponse](t, r.expect(t, exitOK))
		if !res.Created {
			t.Errorf("create with --task-queue = %+v", res)
		}
		c.run(t, "end", "--session", session[1]+"-q").expect(t, exitOK)
	})

	t.Run("DeleteRemovesTheSprite", func(t *testing.T) {
		r := decode[workflows.DeleteSpriteResponse](t, c.run(t, web("delete", "--json")...).expect(t, exitOK))
		if !r.Success || r.SpriteName != "web" {
			t.Errorf("delete --json = %+v", r)
		}
		if l := decode[workflows.ListSpritesResponse](t, c.run(t, with("list", "--json")...).expect(t, exitOK)); l.Count != 0 {
			t.Errorf("list after delete = %+v, want none", l)
		}
		// The deleted sprite is no longer the session's: a read is refused.
		if r := c.run(t, web("read", "notes/hello.txt")...); r.code == exitOK {
			t.Errorf("read from a deleted sprite succeeded: %s", r)
		}
	})

	t.Run("EndDeletesEverySpriteAndClosesTheSession", func(t *testing.T) {
		c.run(t, append([]string{"create", "--sprite", "last"}, session...)...).expect(t, exitOK)
		e := decode[workflows.EndSessionResponse](t, c.run(t, with("end", "--reason", "cli test", "--json")...).expect(t, exitOK))
		if len(e.Deleted) != 1 || e.Deleted[0] != "last" || len(e.Failed) != 0 {
			t.Errorf("end --json = %+v, want [last] deleted", e)
		}
		d := decode[workflows.DescribeResponse](t, c.run(t, with("describe", "--json")...).expect(t, exitOK))
		if d.State != workflows.StateEnded {
			t.Errorf("describe after end: state %q, want %q", d.State, workflows.StateEnded)
		}
		again := c.run(t, with("end", "--json")...).expect(t, exitFailed)
		if e := decode[errorOutput](t, again); e.Kind != "session_closed" {
			t.Errorf("second end --json = %+v, want kind session_closed", e)
		}
		// A session ID names a conversation: the next call starts a fresh
		// session, without the old sprites.
		fresh := decode[workflows.CreateSpriteResponse](t, c.run(t, web("create", "--json")...).expect(t, exitOK))
		if !fresh.Created {
			t.Errorf("create after end = %+v, want a new sprite in a fresh session", fresh)
		}
		if l := decode[workflows.ListSpritesResponse](t, c.run(t, with("list", "--json")...).expect(t, exitOK)); l.Count != 1 {
			t.Errorf("fresh session lists %+v, want only web", l)
		}
		c.run(t, with("end")...).expect(t, exitOK)
	})

	env.AssertNoSprites(t)
}

// TestCLI_RejectsBadInputWithUsageCode checks exit code 2 and the --json
// error shape for input refused by the command or by the session's
// validators.
func TestCLI_RejectsBadInputWithUsageCode(t *testing.T) {
	t.Run("WithoutTemporal", func(t *testing.T) {
		c := offline()
		cases := map[string][]string{
			"unknown command":  {"frobnicate"},
			"no command":       {},
			"missing session":  {"describe"},
			"missing sprite":   {"create", "--session", "s1"},
			"missing path":     {"read", "--session", "s1", "--sprite", "web"},
			"missing content":  {"write", "--session", "s1", "--sprite", "web", "a.txt"},
			"missing command":  {"exec", "--session", "s1", "--sprite", "web"},
			"missing id":       {"restore", "--session", "s1", "--sprite", "web"},
			"missing step":     {"risky", "--session", "s1", "--sprite", "web"},
			"unknown flag":     {"list", "--session", "s1", "--frobnicate"},
			"stray argument":   {"end", "--session", "s1", "extra"},
			"bad tools format": {"tools", "--format", "yaml"},
		}
		for name, args := range cases {
			t.Run(strings.ReplaceAll(name, " ", "-"), func(t *testing.T) {
				r := c.run(t, args...).expect(t, exitUsage)
				if strings.Contains(r.stderr, "cannot reach Temporal") {
					t.Errorf("bad usage dialled Temporal: %s", r)
				}
			})
		}
		r := c.run(t, "create", "--session", "s1", "--json").expect(t, exitUsage)
		if e := decode[errorOutput](t, r); e.Kind != "usage" || e.Error == "" {
			t.Errorf("usage error --json = %+v, want kind usage", e)
		}
	})

	t.Run("BySessionValidators", func(t *testing.T) {
		env := harness.New(t)
		c := against(env)
		session := "cli-bad-input"
		for _, args := range [][]string{
			{"create", "--sprite", "Bad_Name"},
			{"create", "--sprite", "-lead"},
			{"create", "--sprite", "ok", "--cpus", "99"},
			{"exec", "--sprite", "never-created", "--", "true"},
			{"write", "--sprite", "never-created", "a.txt", "--content", "x", "--mode", "rwx"},
		} {
			full := append([]string{args[0], "--session", session, "--json"}, args[1:]...)
			r := c.run(t, full...)
			if r.code != exitUsage {
				t.Errorf("want exit 2; %s", r)
				continue
			}
			if e := decode[errorOutput](t, r); e.Kind != "rejected" && e.Kind != "usage" {
				t.Errorf("%v --json = %+v, want kind rejected", args, e)
			}
		}
		c.run(t, "end", "--session", session).expect(t, exitOK)
		env.AssertNoSprites(t)
	})
}

// TestCLI_ConnectionFlagsOverrideTheEnvironment points TEMPORAL_ADDRESS at a
// closed port and reaches the harness through --address and --namespace.
func TestCLI_ConnectionFlagsOverrideTheEnvironment(t *testing.T) {
	env := harness.New(t)
	c := offline()
	session := []string{"--session", "cli-flags", "--task-queue", env.TaskQueue}
	if r := c.run(t, append([]string{"list"}, session...)...).expect(t, exitFailed); !strings.Contains(r.stderr, "cannot reach Temporal") {
		t.Fatalf("without the flags, want the closed port refused; %s", r)
	}
	conn := append(session, "--address", env.Server.GetFrontendHostPort(), "--namespace", env.Namespace)
	c.run(t, append([]string{"create", "--sprite", "web"}, conn...)...).expect(t, exitOK)
	r := decode[workflows.EndSessionResponse](t, c.run(t, append([]string{"end", "--json"}, conn...)...).expect(t, exitOK))
	if len(r.Deleted) != 1 || r.Deleted[0] != "web" {
		t.Errorf("end --json = %+v, want web deleted", r)
	}
	env.AssertNoSprites(t)
}
