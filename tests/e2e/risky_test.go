package e2e

import (
	"bytes"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestRiskyStep_FailedStepIsRestoredAndItsProcessesAreGone runs, in both
// sandbox modes, risky steps that delete and corrupt files and start a
// background process, then fail: one in its verify command, one by a step
// exiting non-zero itself. The session restores the checkpoint each took
// first: the files read back byte for byte and the process is gone. A
// successful step afterwards keeps its checkpoint listed and its process
// running.
func TestRiskyStep_FailedStepIsRestoredAndItsProcessesAreGone(t *testing.T) {
	t.Parallel()
	for _, mode := range []localsprites.SandboxMode{localsprites.SandboxBwrap, localsprites.SandboxPlain} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			if mode == localsprites.SandboxBwrap && !harness.BwrapAvailable() {
				t.Skip("bubblewrap (bwrap and nsenter) is not installed")
			}
			env := harness.New(t, harness.WithSandbox(mode))
			if got := env.Local.SandboxName(); got != string(mode) {
				t.Fatalf("localsprites runs in %s mode, want %s", got, mode)
			}
			testRiskyStep(t, env)
			env.AssertNoSprites(t)
		})
	}
}

func testRiskyStep(t *testing.T, env *harness.Env) {
	ctx := testContext(t, 2*time.Minute)
	s := env.Starter.Session("risky")
	call(s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "app"})).must(t, "create app")

	files := map[string][]byte{
		"project/main.go":        []byte("package main\n\nfunc main() { println(\"hi\") }\n"),
		"project/data.bin":       allBytes(16),
		"project/docs/README.md": []byte("# app\n"),
	}
	for _, name := range slices.Sorted(mapsKeys(files)) {
		call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "app", Path: name,
			Content: base64.StdEncoding.EncodeToString(files[name]), Encoding: workflows.EncodingBase64})).must(t, "write "+name)
	}

	// Two ways to fail after deleting and corrupting files and starting a
	// background process: the verify command fails, or the step itself
	// exits non-zero. Each is restored to the checkpoint it took first.
	const damage = "rm project/main.go && rm -r project/docs && printf garbage > project/data.bin && echo damaged"
	background := func(tag string) string {
		return "sleep " + tag + " >/dev/null 2>&1 & echo $! > project/bg.pid; echo started"
	}
	failures := []struct {
		name  string
		steps func(tag string) []workflows.RiskyCommand
		// check reports what is wrong with the answer's failure, or "".
		check func(res workflows.RiskyStepResponse) string
	}{
		{"verify fails",
			func(tag string) []workflows.RiskyCommand {
				return []workflows.RiskyCommand{{Command: damage}, {Command: background(tag)}}
			},
			func(res workflows.RiskyStepResponse) string {
				if res.FailedStep != 2 || len(res.Steps) != 2 || res.Steps[0].Stdout != "damaged\n" || res.Steps[1].Stdout != "started\n" ||
					res.Verify == nil || res.Verify.ExitCode == 0 {
					return "want both steps run and the verify (step 2) failed"
				}
				return ""
			}},
		{"step exits non-zero",
			func(tag string) []workflows.RiskyCommand {
				return []workflows.RiskyCommand{{Command: background(tag) + "; " + damage + "; exit 3"}}
			},
			func(res workflows.RiskyStepResponse) string {
				if res.FailedStep != 0 || len(res.Steps) != 1 || res.Steps[0].ExitCode != 3 || res.Steps[0].Stdout != "started\ndamaged\n" ||
					res.Verify != nil || res.Reason != "step 0 exited with code 3" {
					return "want step 0 failed with exit code 3 and the verify not run"
				}
				return ""
			}},
	}
	var restoredTo []string
	for _, f := range failures {
		tag := sleepTag()
		res := call(s.RunRiskyStep(ctx, workflows.RiskyStepRequest{
			Sprites: []string{"app"},
			Steps:   f.steps(tag),
			Verify:  &workflows.RiskyCommand{Command: "test -f project/main.go"},
			Comment: "before the refactor",
		})).must(t, f.name+": risky step")
		if res.Success || !res.Restored || len(res.Tainted) != 0 || res.CheckpointFailed != "" {
			t.Errorf("%s: risky step = success %v, restored %v, tainted %v, checkpoint failed %q, reason %q; want failed and restored",
				f.name, res.Success, res.Restored, res.Tainted, res.CheckpointFailed, res.Reason)
		}
		if why := f.check(res); why != "" {
			t.Errorf("%s: risky step failed step %d, reason %q, steps %+v, verify %+v: %s", f.name, res.FailedStep, res.Reason, res.Steps, res.Verify, why)
		}
		if res.Checkpoints["app"] == "" {
			t.Errorf("%s: risky step names no checkpoint for app: %v", f.name, res.Checkpoints)
		}
		restoredTo = append(restoredTo, res.Checkpoints["app"])

		// The files are back byte for byte; the step's pid file is gone.
		for name, want := range files {
			got := decoded(t, call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "app", Path: name})).must(t, "read "+name))
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %s after the restore: %d bytes %q..., want the %d bytes from before", f.name, name, len(got), clip(got), len(want))
			}
		}
		_, err := s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "app", Path: "project/bg.pid"})
		wantOperationError(t, "NotFound", err)
		// The restore killed the background process the failed step started.
		if pids := processesWithArgs("sleep", tag); len(pids) != 0 {
			t.Errorf("%s: the failed step's background process (sleep %s) still runs after the restore: pids %v", f.name, tag, pids)
		}
	}

	// A step that succeeds keeps its checkpoint and what it started: this
	// also proves the process probe above can see a sprite's processes.
	okTag := sleepTag()
	ok := call(s.RunRiskyStep(ctx, workflows.RiskyStepRequest{
		Sprites: []string{"app"},
		Steps:   []workflows.RiskyCommand{{Command: "sleep " + okTag + " >/dev/null 2>&1 & echo fine > project/ok.txt"}},
		Verify:  &workflows.RiskyCommand{Command: "test -f project/main.go && test -f project/ok.txt"},
	})).must(t, "successful risky step")
	if !ok.Success || ok.Restored || ok.FailedStep != -1 || ok.Checkpoints["app"] == "" {
		t.Fatalf("successful risky step = %+v", ok)
	}
	if pids := processesWithArgs("sleep", okTag); len(pids) != 1 {
		t.Errorf("the successful step's background process (sleep %s): pids %v, want one", okTag, pids)
	}
	if r := call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "app", Path: "project/ok.txt"})).must(t, "read ok.txt"); r.Content != "fine\n" {
		t.Errorf("ok.txt = %q", r.Content)
	}
	list := call(s.ListSprites(ctx)).must(t, "ListSprites")
	var ids []string
	for _, cp := range list.Sprites[0].Checkpoints {
		ids = append(ids, cp.ID)
	}
	for _, id := range append(restoredTo, ok.Checkpoints["app"]) {
		if !slices.Contains(ids, id) {
			t.Errorf("app lists checkpoints %v, want every risky step's (%v, %s)", ids, restoredTo, ok.Checkpoints["app"])
		}
	}
	d := call(s.Describe(ctx)).must(t, "Describe")
	if d.Counters.RiskySteps != len(failures)+1 || d.Counters.RiskyRestored != len(failures) {
		t.Errorf("counters = %+v, want %d risky steps, %d restored", d.Counters, len(failures)+1, len(failures))
	}

	end := call(s.End(ctx, workflows.EndSessionRequest{})).must(t, "End")
	if !slices.Equal(end.Deleted, []string{"app"}) {
		t.Errorf("End = %+v", end)
	}
	// Deleting the sprite stops what ran in it.
	harness.WaitUntil(t, 10*time.Second, "the deleted sprite's process to be gone", func() bool {
		return len(processesWithArgs("sleep", okTag)) == 0
	})
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func clip(b []byte) []byte {
	return b[:min(len(b), 16)]
}
