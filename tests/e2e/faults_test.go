package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// TestFaults_SessionCompletesAndLeavesNoSpriteUnderAPIFailures runs a whole
// session while localsprites answers a share of the requests of every kind
// with 500 or 429, and answers for missing sprites with the real service's
// 500 instead of 404. Every call still succeeds and cleanup leaves nothing.
func TestFaults_SessionCompletesAndLeavesNoSpriteUnderAPIFailures(t *testing.T) {
	t.Parallel()
	env := harness.New(t,
		harness.WithQuirks(localsprites.Quirks{MissingSprite500: true}),
		harness.WithFaults(7,
			localsprites.Fault{Op: "sprites.*", Kind: localsprites.FaultServerError, Rate: 0.3},
			localsprites.Fault{Op: "fs.*", Kind: localsprites.FaultRateLimit, Rate: 0.3, RetryAfter: time.Second},
			localsprites.Fault{Op: "exec", Kind: localsprites.FaultServerError, Rate: 0.3},
			localsprites.Fault{Op: "checkpoint.*", Kind: localsprites.FaultServerError, Rate: 0.3},
		))
	ctx := testContext(t, 2*time.Minute)
	s := env.Starter.Session("faults")

	createSprites(t, s, "one", "two")
	bin := allBytes(2)
	call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "one", Path: "data.bin",
		Content: base64.StdEncoding.EncodeToString(bin), Encoding: workflows.EncodingBase64})).must(t, "write")
	for i := range 3 {
		r := call(s.Exec(ctx, workflows.ExecRequest{SpriteName: "two", Command: "echo $((6*7))"})).must(t, "exec")
		if r.Stdout != "42\n" {
			t.Errorf("exec %d = %+v", i, r)
		}
	}
	cp := call(s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: "one"})).must(t, "checkpoint")
	call(s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "one", Path: "data.bin", Content: "clobbered"})).must(t, "overwrite")
	call(s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: "one", CheckpointID: cp.CheckpointID})).must(t, "restore")
	if got := decoded(t, call(s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "one", Path: "data.bin"})).must(t, "read")); !bytes.Equal(got, bin) {
		t.Errorf("data.bin after the restore: %d bytes, want the %d written", len(got), len(bin))
	}
	risky := call(s.RunRiskyStep(ctx, workflows.RiskyStepRequest{
		Sprites: []string{"one"},
		Steps:   []workflows.RiskyCommand{{Command: "rm data.bin"}},
		Verify:  &workflows.RiskyCommand{Command: "test -f data.bin"},
	})).must(t, "risky step")
	if risky.Success || !risky.Restored {
		t.Errorf("risky step = %+v, want failed and restored", risky)
	}
	call(s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{SpriteName: "two"})).must(t, "delete two")

	end := call(s.End(ctx, workflows.EndSessionRequest{})).must(t, "End")
	if !slices.Equal(end.Deleted, []string{"one"}) || len(end.Failed) != 0 {
		t.Errorf("End = %+v", end)
	}
	// The faults were real: the activities met them and retried.
	errs, limited := env.APIResponses(http.StatusInternalServerError), env.APIResponses(http.StatusTooManyRequests)
	t.Logf("the session met %d answers 500 and %d answers 429", errs, limited)
	if errs == 0 || limited == 0 {
		t.Errorf("faults not met: %d answers 500, %d answers 429", errs, limited)
	}
	env.AssertNoSprites(t)
}
