package e2e

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestSession_EveryOperationWorksAndEndLeavesNoSprite drives one session
// through every operation with the starter, checks each answer against the
// backend itself, and ends it.
func TestSession_EveryOperationWorksAndEndLeavesNoSprite(t *testing.T) {
	t.Parallel()
	const outputCap = 4096
	env := harness.New(t, harness.WithSessionConfig(workflows.SessionConfig{OutputCap: outputCap}))
	ctx := testContext(t, 2*time.Minute)
	s := env.Starter.Session("lifecycle")
	provider := func(name string) string { return workflows.ProviderName(env.Namespace, s.ID(), name) }

	// Nothing runs before the first call; the first call starts the session.
	var notFound *serviceerror.NotFound
	if _, err := env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), ""); !errors.As(err, &notFound) {
		t.Fatalf("before the first call: describe = %v, want NotFound", err)
	}
	alpha := call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "alpha", PublicURL: true})).must(t, "create alpha")
	if !alpha.Created || alpha.SpriteName != "alpha" || alpha.WorkspacePath != workflows.WorkspacePath {
		t.Errorf("create alpha = %+v", alpha)
	}
	desc := call(env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")).must(t, "describe workflow")
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("after the first call the session is %v, want running", st)
	}
	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "beta", CPUs: 2, MemoryMB: 1024})).must(t, "create beta")
	again := call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "alpha"})).must(t, "create alpha again")
	if again.Created {
		t.Errorf("creating an owned name again: Created = true, want the existing sprite")
	}

	// The backend holds exactly the two sprites, under derived names and
	// labelled with their owner.
	owned := call(env.SpritesOwnedBy(ctx, s.WorkflowID())).must(t, "list owned sprites")
	if got, want := harness.Names(owned), []string{provider("alpha"), provider("beta")}; !slices.Equal(got, want) {
		t.Fatalf("backend sprites = %v, want %v", got, want)
	}
	for _, sp := range owned {
		if !slices.Contains(sp.Labels, workflows.OwnerLabel(env.Namespace, s.WorkflowID())) {
			t.Errorf("sprite %s labels %v lack the owner label", sp.Name, sp.Labels)
		}
	}

	t.Run("files", func(t *testing.T) {
		text := "hello\nworld\n"
		w := call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "alpha", Path: "notes/hello.txt", Content: text})).must(t, "write text")
		if !w.Success || w.Size != int64(len(text)) {
			t.Errorf("write text = %+v", w)
		}
		r := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "alpha", Path: "notes/hello.txt"})).must(t, "read text")
		if r.Encoding != workflows.EncodingUTF8 || r.Content != text || r.Size != int64(len(text)) {
			t.Errorf("read text = %+v", r)
		}
		abs := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "alpha", Path: workflows.WorkspacePath + "/notes/hello.txt"})).must(t, "read absolute path")
		if abs.Content != text {
			t.Errorf("absolute path read %q", abs.Content)
		}

		bin := allBytes(4)
		call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "alpha", Path: "notes/data.bin",
			Content: base64.StdEncoding.EncodeToString(bin), Encoding: workflows.EncodingBase64, Mode: "0755"})).must(t, "write binary")
		rb := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "alpha", Path: "notes/data.bin"})).must(t, "read binary")
		if rb.Encoding != workflows.EncodingBase64 || !bytes.Equal(decoded(t, rb), bin) {
			t.Errorf("binary file did not come back byte for byte (encoding %s, size %d)", rb.Encoding, rb.Size)
		}
		// The bytes are really on the sprite, with the mode asked for.
		direct := call(env.Sprites.ReadFile(ctx, provider("alpha"), workflows.WorkspacePath+"/notes/data.bin")).must(t, "read on the backend")
		if !bytes.Equal(direct, bin) {
			t.Errorf("backend holds %d bytes, want the %d written", len(direct), len(bin))
		}
		mode := call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "alpha", Argv: []string{"stat", "-c", "%a", "notes/data.bin"}})).must(t, "stat")
		if strings.TrimSpace(mode.Stdout) != "755" {
			t.Errorf("mode of data.bin = %q, want 755", mode.Stdout)
		}
	})

	t.Run("exec", func(t *testing.T) {
		exec := func(req workflows.ExecRequest) workflows.ExecResponse {
			t.Helper()
			req.SpriteName = "alpha"
			return call(s.Exec(ctx, req)).must(t, "exec "+req.Command+strings.Join(req.Argv, " "))
		}
		r := exec(workflows.ExecRequest{Command: "echo out; echo err >&2; wc -l < notes/hello.txt"})
		if r.ExitCode != 0 || r.Stdout != "out\n2\n" || r.Stderr != "err\n" || r.SpriteName != "alpha" {
			t.Errorf("shell command = %+v", r)
		}
		// argv runs without a shell: nothing is expanded.
		if r := exec(workflows.ExecRequest{Argv: []string{"printf", "%s|%s", "$HOME", "a b"}}); r.Stdout != "$HOME|a b" {
			t.Errorf("argv stdout = %q", r.Stdout)
		}
		if r := exec(workflows.ExecRequest{Command: `printf %s "$GREETING"`, Env: map[string]string{"GREETING": "hi there"}}); r.Stdout != "hi there" {
			t.Errorf("env: stdout = %q", r.Stdout)
		}
		if r := exec(workflows.ExecRequest{Command: "pwd; cat hello.txt", Dir: "notes"}); !strings.HasSuffix(r.Stdout, "/notes\nhello\nworld\n") {
			t.Errorf("dir: stdout = %q", r.Stdout)
		}
		if r := exec(workflows.ExecRequest{Argv: []string{"wc", "-c"}, Stdin: "12345"}); strings.TrimSpace(r.Stdout) != "5" {
			t.Errorf("stdin: wc -c said %q", r.Stdout)
		}
		if r := exec(workflows.ExecRequest{Command: "echo failing >&2; exit 7"}); r.ExitCode != 7 || r.Stderr != "failing\n" {
			t.Errorf("non-zero exit = %+v", r)
		}
		r = exec(workflows.ExecRequest{Command: "head -c 10000 /dev/zero | tr '\\0' x"})
		if len(r.Stdout) != outputCap || !r.StdoutTruncated || strings.Trim(r.Stdout, "x") != "" {
			t.Errorf("output cap: %d bytes, truncated %v; want %d bytes cut and flagged", len(r.Stdout), r.StdoutTruncated, outputCap)
		}
		r = exec(workflows.ExecRequest{Command: "echo started; sleep 30", TimeoutMS: 500})
		if !r.TimedOut || r.ExitCode == 0 || r.Stdout != "started\n" {
			t.Errorf("timeout = %+v", r)
		}
	})

	t.Run("list and describe", func(t *testing.T) {
		list := call(s.ListSprites(ctx)).must(t, "ListSprites")
		var names []string
		for _, sp := range list.Sprites {
			names = append(names, sp.SpriteName)
			if sp.ProviderName != provider(sp.SpriteName) || sp.WorkspacePath != workflows.WorkspacePath {
				t.Errorf("listed %+v", sp)
			}
		}
		slices.Sort(names)
		if list.Count != 2 || !slices.Equal(names, []string{"alpha", "beta"}) {
			t.Errorf("ListSprites = %d %v", list.Count, names)
		}
		d := call(s.Describe(ctx)).must(t, "Describe")
		if d.SessionID != s.ID() || d.State != workflows.StateActive || len(d.Sprites) != 2 ||
			d.Counters.SpritesCreated != 2 || d.Counters.Execs < 8 || d.Config.OutputCap != outputCap {
			t.Errorf("Describe = %+v", d)
		}
		if !d.IdleDeadline.After(time.Now()) || !d.LifetimeDeadline.After(d.IdleDeadline) {
			t.Errorf("deadlines: idle %v, lifetime %v", d.IdleDeadline, d.LifetimeDeadline)
		}
	})

	t.Run("checkpoint and restore", func(t *testing.T) {
		cp := call(s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: "alpha", Comment: "before the edit"})).must(t, "checkpoint")
		if !cp.Success || cp.CheckpointID == "" {
			t.Fatalf("checkpoint = %+v", cp)
		}
		onBackend := call(env.Sprites.ListCheckpoints(ctx, provider("alpha"), false)).must(t, "list checkpoints on the backend")
		if !slices.ContainsFunc(onBackend, func(c sprites.Checkpoint) bool { return c.ID == cp.CheckpointID }) {
			t.Errorf("checkpoint %s not on the backend: %+v", cp.CheckpointID, onBackend)
		}
		call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "alpha", Path: "notes/hello.txt", Content: "changed"})).must(t, "modify")
		call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "alpha", Path: "notes/new.txt", Content: "new"})).must(t, "add a file")
		rs := call(s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: "alpha", CheckpointID: cp.CheckpointID})).must(t, "restore")
		if !rs.Restored || rs.CheckpointID != cp.CheckpointID {
			t.Errorf("restore = %+v", rs)
		}
		if r := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "alpha", Path: "notes/hello.txt"})).must(t, "read restored"); r.Content != "hello\nworld\n" {
			t.Errorf("after restore hello.txt = %q", r.Content)
		}
		_, err := s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "alpha", Path: "notes/new.txt"})
		wantOperationError(t, "NotFound", err)
		list := call(s.ListSprites(ctx)).must(t, "ListSprites")
		for _, sp := range list.Sprites {
			if sp.SpriteName == "alpha" && !slices.ContainsFunc(sp.Checkpoints, func(c workflows.CheckpointInfo) bool {
				return c.ID == cp.CheckpointID && c.Comment == "before the edit"
			}) {
				t.Errorf("alpha lists checkpoints %+v, want %s", sp.Checkpoints, cp.CheckpointID)
			}
		}
	})

	t.Run("service URL", func(t *testing.T) {
		u := call(s.ServiceURL(ctx, workflows.ServiceURLRequest{SpriteName: "alpha"})).must(t, "ServiceURL")
		if u.URL == "" || !u.Public {
			t.Fatalf("ServiceURL = %+v", u)
		}
		// Serve the workspace on the sprite's port and fetch a file through
		// the URL, without credentials: the sprite was created public.
		call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "alpha",
			Command: `python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1 &`})).must(t, "start a web server")
		var body []byte
		harness.WaitUntil(t, 20*time.Second, "the sprite's URL to serve notes/hello.txt", func() bool {
			resp, err := http.Get(strings.TrimRight(u.URL, "/") + "/notes/hello.txt")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			body, _ = io.ReadAll(resp.Body)
			return resp.StatusCode == http.StatusOK
		})
		if string(body) != "hello\nworld\n" {
			t.Errorf("GET through the sprite URL = %q", body)
		}
	})

	t.Run("delete one sprite", func(t *testing.T) {
		d := call(s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{SpriteName: "beta"})).must(t, "delete beta")
		if !d.Success || d.SpriteName != "beta" {
			t.Errorf("delete = %+v", d)
		}
		owned := call(env.SpritesOwnedBy(ctx, s.WorkflowID())).must(t, "list owned sprites")
		if got := harness.Names(owned); !slices.Equal(got, []string{provider("alpha")}) {
			t.Errorf("after deleting beta the backend holds %v", got)
		}
		_, err := s.Exec(ctx, workflows.ExecRequest{SpriteName: "beta", Command: "true"})
		wantRejected(t, workflows.UpdateExec, err)
	})

	end := call(s.End(ctx, workflows.EndSessionRequest{Reason: "done"})).must(t, "End")
	if !slices.Equal(end.Deleted, []string{"alpha"}) || len(end.Failed) != 0 {
		t.Errorf("End = %+v, want alpha deleted", end)
	}
	res := call(s.Wait(ctx)).must(t, "Wait")
	if res.SessionID != s.ID() || res.Reason != workflows.EndReasonEnded || !slices.Equal(res.Deleted, []string{"alpha"}) {
		t.Errorf("session result = %+v", res)
	}
	desc = call(env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")).must(t, "describe workflow")
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("the ended session is %v, want completed", st)
	}
	env.AssertNoSprites(t)
}
