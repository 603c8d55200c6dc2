package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

func TestSession_OperationsWorkAndEndSessionDeletesEverySprite(t *testing.T) {
	h := newHarness(t)
	createA := send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "web"})
	createB := send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "db", CPUs: 2, MemoryMB: 1024})
	again := send[CreateSpriteResponse](h, 2*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "web"})
	exec := send[ExecResponse](h, 3*time.Second, UpdateExec, ExecRequest{SpriteName: "web", Command: "echo hi"})
	argv := send[ExecResponse](h, 3*time.Second, UpdateExec, ExecRequest{SpriteName: "db", Argv: []string{"ls", "-l"}})
	write := send[WriteFileResponse](h, 10*time.Second, UpdateWriteFile, WriteFileRequest{SpriteName: "web", Path: "a.txt", Content: "hello"})
	read := send[ReadFileResponse](h, 11*time.Second, UpdateReadFile, ReadFileRequest{SpriteName: "web", Path: "a.txt"})
	url := send[ServiceURLResponse](h, 12*time.Second, UpdateServiceURL, ServiceURLRequest{SpriteName: "web"})
	cp := send[CheckpointResponse](h, 13*time.Second, UpdateCheckpoint, CheckpointRequest{SpriteName: "web", Comment: "first"})
	restore := send[RestoreCheckpointResponse](h, 14*time.Second, UpdateRestoreCheckpoint, RestoreCheckpointRequest{SpriteName: "web", CheckpointID: "v1"})

	var list ListSpritesResponse
	var desc DescribeResponse
	h.env.RegisterDelayedCallback(func() {
		h.query(QueryListSprites, &list)
		h.query(QueryDescribe, &desc)
	}, 20*time.Second)
	end := send[EndSessionResponse](h, 30*time.Second, UpdateEndSession, EndSessionRequest{Reason: "done"})
	h.run(SessionInput{})

	if r := createA.ok(t); !r.Created || r.SpriteName != "web" || r.WorkspacePath != WorkspacePath || r.ServiceURL == "" {
		t.Errorf("create web = %+v", r)
	}
	createB.ok(t)
	if r := again.ok(t); r.Created {
		t.Errorf("second create of an owned name answered Created=true")
	}
	if got := h.fake.callsOf("create"); len(got) != 2 {
		t.Errorf("creates at the provider = %v, want 2 (the repeat is idempotent)", got)
	}
	if r := exec.ok(t); r.ExitCode != 0 || r.Stdout != "sh -lc echo hi\n" {
		t.Errorf("exec = %+v, want the command run as sh -lc", r)
	}
	if r := argv.ok(t); r.Stdout != "ls -l\n" {
		t.Errorf("argv exec = %+v", r)
	}
	if r := write.ok(t); !r.Success || r.Size != 5 {
		t.Errorf("write = %+v", r)
	}
	if r := read.ok(t); r.Content != "hello" || r.Path != "a.txt" {
		t.Errorf("read = %+v", r)
	}
	if r := url.ok(t); r.URL == "" || len(r.Services) != 1 {
		t.Errorf("service url = %+v", r)
	}
	if r := cp.ok(t); r.CheckpointID != "v1" || !r.Success {
		t.Errorf("checkpoint = %+v", r)
	}
	if r := restore.ok(t); !r.Restored {
		t.Errorf("restore = %+v", r)
	}

	if list.Count != 2 || list.Sprites[0].SpriteName != "db" || list.Sprites[1].SpriteName != "web" {
		t.Errorf("ListSprites = %+v", list)
	}
	if web := list.Sprites[1]; len(web.Checkpoints) != 1 || web.Checkpoints[0].ID != "v1" || web.Checkpoints[0].Comment != "first" {
		t.Errorf("web checkpoints = %+v", web.Checkpoints)
	}
	if desc.State != StateActive || desc.SessionID != "test-session" || desc.Counters.SpritesCreated != 2 ||
		desc.Counters.Execs != 2 || desc.Counters.Checkpoints != 1 || desc.Counters.Restores != 1 {
		t.Errorf("Describe = %+v", desc)
	}
	if !desc.IdleDeadline.After(desc.StartedAt) || !desc.LifetimeDeadline.Equal(desc.StartedAt.Add(DefaultMaxLifetime)) {
		t.Errorf("Describe deadlines: idle %v lifetime %v started %v", desc.IdleDeadline, desc.LifetimeDeadline, desc.StartedAt)
	}

	want := []string{"db", "web"}
	if r := end.ok(t); !slices.Equal(r.Deleted, want) || len(r.Failed) != 0 {
		t.Errorf("EndSession = %+v, want deleted %v", r, want)
	}
	res := h.result()
	if res.Reason != EndReasonEnded || !slices.Equal(res.Deleted, want) {
		t.Errorf("result = %+v", res)
	}
	if n := h.fake.aliveCount(); n != 0 {
		t.Errorf("%d sprites left at the provider", n)
	}
}

func TestSession_ProviderNamesAndLabelsNameTheOwner(t *testing.T) {
	h := newHarness(t)
	create := send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "web"})
	var list ListSpritesResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryListSprites, &list) }, 5*time.Second)
	send[EndSessionResponse](h, 10*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{SessionID: "abc"})

	create.ok(t)
	prov := list.Sprites[0].ProviderName
	if want := ProviderName("default-test-namespace", "abc", "web"); prov != want {
		t.Errorf("provider name %q, want %q", prov, want)
	}
	ns, wf, ok := ParseOwner(h.fake.labels[prov])
	if !ok || ns != "default-test-namespace" || wf == "" {
		t.Errorf("labels %v do not name the owner (ns %q wf %q)", h.fake.labels[prov], ns, wf)
	}
}

func TestSession_ValidatorsRejectBadInputWithoutRunningAnything(t *testing.T) {
	long := strings.Repeat("x", DefaultMaxWriteBytes+1)
	cases := []struct {
		name   string
		update string
		req    any
		want   string
	}{
		{"bad sprite name", UpdateCreateSprite, CreateSpriteRequest{SpriteName: "Bad_Name"}, "invalid sprite_name"},
		{"empty sprite name", UpdateCreateSprite, CreateSpriteRequest{}, "invalid sprite_name"},
		{"too many cpus", UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b", CPUs: 9}, "cpus"},
		{"too little memory", UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b", MemoryMB: 128}, "memory_mb"},
		{"too much memory", UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b", MemoryMB: 16385}, "memory_mb"},
		{"unknown sprite", UpdateExec, ExecRequest{SpriteName: "nope", Command: "true"}, "unknown sprite"},
		{"other session's provider name", UpdateExec, ExecRequest{SpriteName: ProviderName("default-test-namespace", "other", "a"), Command: "true"}, "unknown sprite"},
		{"empty command", UpdateExec, ExecRequest{SpriteName: "a"}, "empty command"},
		{"blank command", UpdateExec, ExecRequest{SpriteName: "a", Command: "  "}, "empty command"},
		{"command and argv", UpdateExec, ExecRequest{SpriteName: "a", Command: "ls", Argv: []string{"ls"}}, "not both"},
		{"timeout over max", UpdateExec, ExecRequest{SpriteName: "a", Command: "ls", TimeoutMS: 600001}, "exceeds the maximum"},
		{"negative timeout", UpdateExec, ExecRequest{SpriteName: "a", Command: "ls", TimeoutMS: -1}, "negative"},
		{"bad env name", UpdateExec, ExecRequest{SpriteName: "a", Command: "ls", Env: map[string]string{"A=B": "c"}}, "env"},
		{"empty path read", UpdateReadFile, ReadFileRequest{SpriteName: "a"}, "path is empty"},
		{"empty path write", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Content: "x"}, "path is empty"},
		{"oversized write", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: "f", Content: long}, "write limit"},
		{"bad mode", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: "f", Mode: "rwx"}, "invalid mode"},
		{"bad base64", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: "f", Content: "!!", Encoding: EncodingBase64}, "base64"},
		{"bad encoding", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: "f", Encoding: "latin1"}, "encoding"},
		{"delete unknown", UpdateDeleteSprite, DeleteSpriteRequest{SpriteName: "zz"}, "unknown sprite"},
		{"checkpoint unknown", UpdateCheckpoint, CheckpointRequest{SpriteName: "zz"}, "unknown sprite"},
		{"empty checkpoint id", UpdateRestoreCheckpoint, RestoreCheckpointRequest{SpriteName: "a"}, "checkpoint_id is empty"},
		{"odd checkpoint id", UpdateRestoreCheckpoint, RestoreCheckpointRequest{SpriteName: "a", CheckpointID: "../v1"}, "unknown format"},
		{"service url unknown", UpdateServiceURL, ServiceURLRequest{SpriteName: "zz"}, "unknown sprite"},
		{"risky no sprites", UpdateRunRiskyStep, RiskyStepRequest{Steps: []RiskyCommand{{Command: "true"}}}, "no sprites"},
		{"risky zero steps", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}}, "no steps"},
		{"risky duplicate sprites", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a", "a"}, Steps: []RiskyCommand{{Command: "true"}}}, "named twice"},
		{"risky unowned sprite", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a", "zz"}, Steps: []RiskyCommand{{SpriteName: "a", Command: "true"}}}, "unknown sprite"},
		{"risky step names other sprite", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: []RiskyCommand{{SpriteName: "b", Command: "true"}}}, "not in sprites"},
		{"risky step without sprite among two", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a", "c"}, Steps: []RiskyCommand{{Command: "true"}}}, "names no sprite"},
		{"risky empty step", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: []RiskyCommand{{}}}, "empty command"},
		{"risky bad verify", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: []RiskyCommand{{Command: "true"}}, Verify: &RiskyCommand{Command: "x", TimeoutMS: 700000}}, "verify"},
		{"empty argv[0]", UpdateExec, ExecRequest{SpriteName: "a", Argv: []string{"", "-l"}}, "argv[0] is empty"},
		{"NUL in dir", UpdateExec, ExecRequest{SpriteName: "a", Command: "ls", Dir: "/tmp\x00/etc"}, "dir contains a NUL byte"},
		{"read path too long", UpdateReadFile, ReadFileRequest{SpriteName: "a", Path: strings.Repeat("p", 4097)}, "path of 4097 bytes is longer than 4096"},
		{"write path too long", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: strings.Repeat("p", 4097), Content: "x"}, "path of 4097 bytes is longer than 4096"},
		{"NUL in read path", UpdateReadFile, ReadFileRequest{SpriteName: "a", Path: "f\x00g"}, "path contains a NUL byte"},
		{"NUL in write path", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: "f\x00g", Content: "x"}, "path contains a NUL byte"},
		{"risky step over 16 sprites", UpdateRunRiskyStep, RiskyStepRequest{Sprites: spriteNames(17), Steps: []RiskyCommand{{SpriteName: "s0", Command: "true"}}}, "17 sprites; at most 16 per risky step"},
		{"risky step over 32 steps", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: slices.Repeat([]RiskyCommand{{Command: "true"}}, 33)}, "33 commands (steps and verify); at most 32"},
		{"risky step whose verify makes 33 commands", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: slices.Repeat([]RiskyCommand{{Command: "true"}}, 32), Verify: &RiskyCommand{Command: "true"}}, "33 commands (steps and verify); at most 32"},
		{"checkpoint comment too long", UpdateCheckpoint, CheckpointRequest{SpriteName: "a", Comment: strings.Repeat("c", 1025)}, "comment longer than 1024 bytes"},
		{"risky comment too long", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: []RiskyCommand{{Command: "true"}}, Comment: strings.Repeat("c", 1025)}, "comment longer than 1024 bytes"},
		// Under the raw write limit, but six bytes each once JSON-escaped:
		// accepted, it would make Temporal fail the session.
		{"write that escapes past the payload limit", UpdateWriteFile, WriteFileRequest{SpriteName: "a", Path: "f", Content: strings.Repeat("<", 400<<10)}, "limit of one update"},
		{"command past the payload limit", UpdateExec, ExecRequest{SpriteName: "a", Command: strings.Repeat("x", MaxRequestBytes)}, "limit of one update"},
		{"risky steps past the payload limit", UpdateRunRiskyStep, RiskyStepRequest{Sprites: []string{"a"}, Steps: []RiskyCommand{{Command: strings.Repeat("&", 300<<10)}}}, "limit of one update"},
	}
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "c"})
	outs := make([]*outcome[json.RawMessage], len(cases))
	for i, c := range cases {
		outs[i] = send[json.RawMessage](h, 5*time.Second, c.update, c.req)
	}
	after := send[ExecResponse](h, 10*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	send[EndSessionResponse](h, 20*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := outs[i].wasRejected(t); !strings.Contains(msg, c.want) {
				t.Errorf("rejection %q does not mention %q", msg, c.want)
			}
		})
	}
	after.ok(t)
	if got := h.fake.callsOf("exec"); len(got) != 1 {
		t.Errorf("execs at the provider = %v, want only the valid one", got)
	}
	for _, op := range []string{"read", "write", "checkpoint", "restore", "url"} {
		if got := h.fake.callsOf(op); len(got) != 0 {
			t.Errorf("rejected updates reached the provider: %v", got)
		}
	}
	if got := h.fake.callsOf("create"); len(got) != 2 {
		t.Errorf("creates = %v", got)
	}
}

// spriteNames returns n distinct valid sprite names, s0 to s<n-1>.
func spriteNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	return names
}

func TestSession_EndSessionWithAnOverlongReasonIsRejectedAndTheSessionGoesOn(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	long := send[EndSessionResponse](h, 5*time.Second, UpdateEndSession, EndSessionRequest{Reason: strings.Repeat("r", 1025)})
	after := send[ExecResponse](h, 10*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	// Exactly at the limit is accepted.
	end := send[EndSessionResponse](h, 20*time.Second, UpdateEndSession, EndSessionRequest{Reason: strings.Repeat("r", 1024)})
	h.run(SessionInput{})

	if msg := long.wasRejected(t); !strings.Contains(msg, "reason longer than 1024 bytes") {
		t.Errorf("rejection %q does not name the reason's limit", msg)
	}
	after.ok(t) // the rejected EndSession did not end the session
	if r := end.ok(t); !slices.Equal(r.Deleted, []string{"a"}) {
		t.Errorf("EndSession = %+v", r)
	}
	if res := h.result(); res.Reason != EndReasonEnded {
		t.Errorf("result = %+v", res)
	}
	if got := h.fake.callsOf("delete"); len(got) != 1 {
		t.Errorf("deletes = %v, want one, by the accepted EndSession", got)
	}
}

func TestSession_RejectsNewOperationsOnceEndingButAnswersEndSessionAgain(t *testing.T) {
	h := newHarness(t)
	h.fake.deleteDelay = 10 * time.Second
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	end1 := send[EndSessionResponse](h, 5*time.Second, UpdateEndSession, EndSessionRequest{})
	late := send[ExecResponse](h, 7*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	lateCreate := send[CreateSpriteResponse](h, 7*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	end2 := send[EndSessionResponse](h, 8*time.Second, UpdateEndSession, EndSessionRequest{})
	var desc DescribeResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryDescribe, &desc) }, 9*time.Second)
	h.run(SessionInput{})

	if msg := late.wasRejected(t); !strings.Contains(msg, "ending") {
		t.Errorf("late exec rejection %q", msg)
	}
	lateCreate.wasRejected(t)
	r1, r2 := end1.ok(t), end2.ok(t)
	if !slices.Equal(r1.Deleted, []string{"a"}) || !slices.Equal(r2.Deleted, r1.Deleted) {
		t.Errorf("EndSession answers %+v and %+v, want both to list a", r1, r2)
	}
	if desc.State != StateEnding {
		t.Errorf("Describe during cleanup: state %q, want %q", desc.State, StateEnding)
	}
}

func TestSession_IdleTimeoutEndsSessionAndDeletesSprites(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	// Activity at 20 minutes pushes the idle deadline to about 50 minutes.
	send[ExecResponse](h, 20*time.Minute, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	start := h.env.Now()
	h.run(SessionInput{})

	res := h.result()
	if res.Reason != EndReasonIdle || !slices.Equal(res.Deleted, []string{"a"}) {
		t.Errorf("result = %+v", res)
	}
	if took := h.env.Now().Sub(start); took < 50*time.Minute || took > 52*time.Minute {
		t.Errorf("session ended after %v, want about 50m (idle timeout reset by the exec)", took)
	}
	if n := h.fake.aliveCount(); n != 0 {
		t.Errorf("%d sprites left", n)
	}
}

func TestSession_LongOperationIsNotIdle(t *testing.T) {
	h := newHarness(t)
	h.fake.execDelay = 9 * time.Minute
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	exec := send[ExecResponse](h, 2*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "sleep 540", TimeoutMS: 600000})
	start := h.env.Now()
	h.run(SessionInput{Config: SessionConfig{IdleTimeout: 5 * time.Minute}})

	exec.ok(t)
	if res := h.result(); res.Reason != EndReasonIdle {
		t.Errorf("reason %q", res.Reason)
	}
	if took := h.env.Now().Sub(start); took < 14*time.Minute {
		t.Errorf("session ended after %v: the idle clock ran while the exec did", took)
	}
}

func TestSession_MaxLifetimeEndsABusySession(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	for at := 50 * time.Minute; at < 4*time.Hour; at += 50 * time.Minute {
		send[ExecResponse](h, at, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	}
	start := h.env.Now()
	h.run(SessionInput{Config: SessionConfig{MaxLifetime: 2 * time.Hour, IdleTimeout: time.Hour}})

	res := h.result()
	if res.Reason != EndReasonLifetime || !slices.Equal(res.Deleted, []string{"a"}) {
		t.Errorf("result = %+v", res)
	}
	if took := h.env.Now().Sub(start); took < 2*time.Hour || took > 2*time.Hour+time.Minute {
		t.Errorf("session ended after %v, want 2h", took)
	}
}

func TestSession_CancellationCancelsOperationsAndCleansUp(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	h.fake.execDelay = time.Hour
	exec := send[ExecResponse](h, 2*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "sleep 500", TimeoutMS: 600000})
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 10*time.Second)
	start := h.env.Now()
	h.run(SessionInput{})

	res := h.result()
	if res.Reason != EndReasonCancelled || !slices.Equal(res.Deleted, []string{"a"}) {
		t.Errorf("result = %+v", res)
	}
	exec.failedWith(t, ErrTypeSessionEnding)
	if took := h.env.Now().Sub(start); took > time.Minute {
		t.Errorf("cleanup waited %v for the running exec", took)
	}
	if n := h.fake.aliveCount(); n != 0 {
		t.Errorf("%d sprites left", n)
	}
}

func TestSession_CleanupRetriesAFailingDeleteUntilItSucceeds(t *testing.T) {
	h := newHarness(t)
	h.fake.failDeletes = 3
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	end := send[EndSessionResponse](h, 5*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	if r := end.ok(t); !slices.Equal(r.Deleted, []string{"a"}) || len(r.Failed) != 0 {
		t.Errorf("EndSession = %+v", r)
	}
	if got := h.fake.callsOf("delete"); len(got) != 4 {
		t.Errorf("delete attempts = %v, want 4", got)
	}
	if n := h.fake.aliveCount(); n != 0 {
		t.Errorf("%d sprites left", n)
	}
}

func TestSession_DeleteSpriteRemovesItFromState(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	del := send[DeleteSpriteResponse](h, 2*time.Second, UpdateDeleteSprite, DeleteSpriteRequest{SpriteName: "a"})
	// Queued behind the delete on the same sprite: it must fail cleanly.
	queued := send[ExecResponse](h, 2*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	after := send[ExecResponse](h, 5*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	end := send[EndSessionResponse](h, 10*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	if r := del.ok(t); !r.Success || r.Action != "delete" {
		t.Errorf("delete = %+v", r)
	}
	queued.failedWith(t, ErrTypeSpriteGone)
	after.wasRejected(t)
	if r := end.ok(t); len(r.Deleted) != 0 {
		t.Errorf("EndSession deleted %v after the sprite was already gone", r.Deleted)
	}
}

func TestSession_OperationsOnOneSpriteNeverOverlapButSpritesRunInParallel(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	h.env.RegisterDelayedCallback(func() { h.fake.set(func() { h.fake.execDelay = 10 * time.Second }) }, 2*time.Second)
	var execs []*outcome[ExecResponse]
	for _, name := range []string{"a", "a", "b"} {
		execs = append(execs, send[ExecResponse](h, 5*time.Second, UpdateExec, ExecRequest{SpriteName: name, Command: "work"}))
	}
	send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	for _, e := range execs {
		e.ok(t)
	}
	a, b := h.fake.execEnds["a"], h.fake.execEnds["b"]
	if len(a) != 2 || len(b) != 1 {
		t.Fatalf("exec ends a=%v b=%v", a, b)
	}
	if gap := a[1] - a[0]; gap < 10*time.Second {
		t.Errorf("execs on sprite a overlapped: they ended %v apart, each takes 10s", gap)
	}
	if b[0] != a[0] {
		t.Errorf("exec on b ended at %v, the first on a at %v: sprites did not run in parallel", b[0], a[0])
	}
}

func TestSession_ContinueAsNewCarriesStateAfterHandlersFinish(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	send[CheckpointResponse](h, 2*time.Second, UpdateCheckpoint, CheckpointRequest{SpriteName: "a"})
	h.env.RegisterDelayedCallback(func() { h.fake.set(func() { h.fake.execDelay = 30 * time.Second }) }, 3*time.Second)
	inflight := sendID[ExecResponse](h, 5*time.Second, UpdateExec, "exec-in-flight", ExecRequest{SpriteName: "a", Command: "true"})
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 6*time.Second)
	h.run(SessionInput{SessionID: "can", Config: SessionConfig{IdleTimeout: time.Hour}})

	inflight.ok(t) // finished before the run continued: its answer was not lost
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next SessionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.Runs != 1 || len(st.Sprites) != 2 || st.Sprites["a"] == nil || len(st.Sprites["a"].Checkpoints) != 1 {
		t.Fatalf("carried state = %+v", st)
	}
	if next.SessionID != "can" || next.Config.IdleTimeout != time.Hour || st.StartedAt.IsZero() {
		t.Errorf("carried input = %+v", next)
	}
	if !slices.Contains(st.RecentUpdateIDs, "exec-in-flight") {
		t.Errorf("recent update IDs %v miss the exec", st.RecentUpdateIDs)
	}
	if got := h.fake.callsOf("delete"); len(got) != 0 {
		t.Errorf("continue-as-new deleted sprites: %v", got)
	}
}

func TestSession_ContinuedRunAnswersARepeatedUpdateFromMemory(t *testing.T) {
	h := newHarness(t)
	prov := ProviderName("default-test-namespace", "dup", "a")
	h.fake.alive[prov] = true
	kept, _ := json.Marshal(ExecResponse{SpriteName: "a", ExitCode: 7, Stdout: "first run"})
	state := &SessionState{
		Sprites:         map[string]*SpriteState{"a": {SpriteName: "a", ProviderName: prov, Status: "running"}},
		StartedAt:       h.env.Now(),
		RecentUpdateIDs: []string{"kept", "big"},
		RecentResults:   map[string]json.RawMessage{"kept": kept},
		Runs:            1,
	}
	repeat := sendID[ExecResponse](h, time.Second, UpdateExec, "kept", ExecRequest{SpriteName: "a", Command: "true"})
	big := sendID[ExecResponse](h, time.Second, UpdateExec, "big", ExecRequest{SpriteName: "a", Command: "true"})
	fresh := send[ExecResponse](h, 2*time.Second, UpdateExec, ExecRequest{SpriteName: "a", Command: "true"})
	send[EndSessionResponse](h, 10*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{SessionID: "dup", State: state})

	if r := repeat.ok(t); r.ExitCode != 7 || r.Stdout != "first run" {
		t.Errorf("repeated update answered %+v, want the kept answer", r)
	}
	if msg := big.wasRejected(t); !strings.Contains(msg, "already completed") {
		t.Errorf("rejection %q", msg)
	}
	fresh.ok(t)
	if got := h.fake.callsOf("exec"); len(got) != 1 {
		t.Errorf("execs = %v, want only the fresh one", got)
	}
	if res := h.result(); !slices.Equal(res.Deleted, []string{"a"}) {
		t.Errorf("carried sprite not deleted: %+v", res)
	}
}

func TestSession_StateKeepsOnlyTheRecentCheckpointsOfASprite(t *testing.T) {
	h := newHarness(t)
	prov := ProviderName("default-test-namespace", "cps", "a")
	h.fake.alive[prov] = true
	old := make([]CheckpointInfo, maxKeptCheckpoints)
	for i := range old {
		old[i] = CheckpointInfo{ID: fmt.Sprintf("v%d", i+1), Comment: strings.Repeat("c", maxCommentLen)}
	}
	state := &SessionState{
		Sprites:   map[string]*SpriteState{"a": {SpriteName: "a", ProviderName: prov, Status: "running", Checkpoints: old}},
		StartedAt: h.env.Now(),
	}
	cp := send[CheckpointResponse](h, time.Second, UpdateCheckpoint, CheckpointRequest{SpriteName: "a", Comment: "newest"})
	// An old checkpoint no longer listed can still be restored by its ID.
	restore := send[RestoreCheckpointResponse](h, 2*time.Second, UpdateRestoreCheckpoint, RestoreCheckpointRequest{SpriteName: "a", CheckpointID: "v1"})
	var list ListSpritesResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryListSprites, &list) }, 5*time.Second)
	send[EndSessionResponse](h, 10*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{SessionID: "cps", State: state})

	id := cp.ok(t).CheckpointID
	restore.ok(t)
	cps := list.Sprites[0].Checkpoints
	if len(cps) != maxKeptCheckpoints || cps[0].ID != "v2" || cps[len(cps)-1].ID != id {
		t.Errorf("listed %d checkpoints from %v to %v, want the newest %d ending with %s", len(cps), cps[0].ID, cps[len(cps)-1].ID, maxKeptCheckpoints, id)
	}
}

func TestRemember_BoundsIDsAndResults(t *testing.T) {
	s := &session{recent: map[string]bool{}}
	for i := range maxRecentUpdates + 10 {
		s.remember(strings.Repeat("x", i+1), ExecResponse{Stdout: strings.Repeat("o", i*10)})
	}
	if len(s.st.RecentUpdateIDs) != maxRecentUpdates || len(s.recent) != maxRecentUpdates {
		t.Errorf("kept %d IDs", len(s.st.RecentUpdateIDs))
	}
	for id, raw := range s.st.RecentResults {
		if len(raw) > maxKeptResult || !s.recent[id] {
			t.Errorf("result of %d bytes kept for %q", len(raw), id[:1])
		}
	}
	if _, ok := s.st.RecentResults["x"]; ok {
		t.Errorf("the oldest result was not dropped")
	}
}

func TestSession_LifetimeCountsFromTheFirstRunAcrossContinueAsNew(t *testing.T) {
	h := newHarness(t)
	state := &SessionState{StartedAt: h.env.Now().Add(-DefaultMaxLifetime + 10*time.Minute), Runs: 3}
	start := h.env.Now()
	h.run(SessionInput{State: state, Config: SessionConfig{IdleTimeout: time.Hour}})

	if res := h.result(); res.Reason != EndReasonLifetime {
		t.Errorf("reason %q", res.Reason)
	}
	if took := h.env.Now().Sub(start); took != 10*time.Minute {
		t.Errorf("continued run lasted %v, want the 10m left of the lifetime", took)
	}
}

func TestSession_CleanupDeletesWhatAFailedCreateMayHaveLeft(t *testing.T) {
	h := newHarness(t)
	h.fake.createErr = func(name string) error {
		switch name {
		case "lost":
			return temporal.NewNonRetryableApplicationError("connection reset after the request was sent", activities.ErrTypeUnavailable, nil)
		case "taken":
			return temporal.NewNonRetryableApplicationError("409 without our label", activities.ErrTypeConflict, nil)
		}
		return nil
	}
	lost := send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "lost"})
	taken := send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "taken"})
	end := send[EndSessionResponse](h, 10*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	lost.failedWith(t, activities.ErrTypeUnavailable)
	taken.failedWith(t, activities.ErrTypeConflict)
	if got := h.fake.callsOf("delete"); !slices.Equal(got, []string{"delete lost"}) {
		t.Errorf("deletes = %v: want the ambiguous create cleaned up, the conflicting sprite (not ours) left alone", got)
	}
	if r := end.ok(t); len(r.Deleted) != 0 {
		t.Errorf("EndSession listed %v as deleted, but nothing existed", r.Deleted)
	}
}

func TestSession_CreateWaitsOutTheRateLimit(t *testing.T) {
	h := newHarness(t)
	limited := 1
	h.fake.createErr = func(string) error {
		if limited > 0 {
			limited--
			return temporal.NewApplicationErrorWithOptions("429", activities.ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: 45 * time.Second})
		}
		return nil
	}
	create := send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	var list ListSpritesResponse
	h.env.RegisterDelayedCallback(func() { h.query(QueryListSprites, &list) }, 40*time.Second)
	send[EndSessionResponse](h, 2*time.Minute, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{})

	create.ok(t)
	if list.Count != 0 {
		t.Errorf("create retried before the server's retry_after: sprites at 40s = %+v", list.Sprites)
	}
	if got := h.fake.callsOf("create"); len(got) != 2 {
		t.Errorf("creates = %v", got)
	}
}

func TestSession_FailsWithoutSpritesOnAnInvalidSessionID(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(SessionWorkflowName, SessionInput{SessionID: "bad id!"})
	if err := h.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "invalid session ID") {
		t.Errorf("workflow error %v, want an invalid session ID", err)
	}
}

func TestSession_CreateBeyondMaxSpritesIsRejectedUntilOneIsDeleted(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	over := send[CreateSpriteResponse](h, 2*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "c"})
	again := send[CreateSpriteResponse](h, 2*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	send[DeleteSpriteResponse](h, 3*time.Second, UpdateDeleteSprite, DeleteSpriteRequest{SpriteName: "b"})
	after := send[CreateSpriteResponse](h, 4*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "c"})
	send[EndSessionResponse](h, 5*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{Config: SessionConfig{MaxSprites: 2}})

	if msg := over.wasRejected(t); !strings.Contains(msg, "max_sprites 2") {
		t.Errorf("rejection %q does not name the limit", msg)
	}
	if r := again.ok(t); r.Created {
		t.Errorf("re-creating an owned sprite at the limit = %+v, want the existing sprite", r)
	}
	if r := after.ok(t); !r.Created {
		t.Errorf("create after a delete freed a place = %+v", r)
	}
	got := h.fake.callsOf("create")
	slices.Sort(got)
	if !slices.Equal(got, []string{"create a", "create b", "create c"}) {
		t.Errorf("creates sent = %v, want one each of a, b and c", got)
	}
}

// Creates of two names accepted together when one place is left: one
// creates, the other is refused (by its validator or, if both were accepted
// before either ran, by the handler as SpriteLimit), and the provider never
// holds more than the limit.
func TestSession_ConcurrentCreatesNeverPassMaxSprites(t *testing.T) {
	h := newHarness(t)
	send[CreateSpriteResponse](h, time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "a"})
	b := send[CreateSpriteResponse](h, 2*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "b"})
	c := send[CreateSpriteResponse](h, 2*time.Second, UpdateCreateSprite, CreateSpriteRequest{SpriteName: "c"})
	send[EndSessionResponse](h, 5*time.Second, UpdateEndSession, EndSessionRequest{})
	h.run(SessionInput{Config: SessionConfig{MaxSprites: 2}})

	created, refused := 0, 0
	for _, o := range []*outcome[CreateSpriteResponse]{b, c} {
		switch {
		case o.rejected != nil:
			refused++
		case o.done && o.err == nil:
			created++
		case o.done:
			o.failedWith(t, ErrTypeSpriteLimit)
			refused++
		}
	}
	if created != 1 || refused != 1 {
		t.Errorf("created %d and refused %d of two creates with one place left, want 1 and 1", created, refused)
	}
	if n := len(h.fake.callsOf("create")); n != 2 {
		t.Errorf("%d creates reached the provider, want 2 (the limit)", n)
	}
}

func TestSessionConfig_MaxSpritesDefaultsAndIsBounded(t *testing.T) {
	if got := (SessionConfig{}).withDefaults().MaxSprites; got != DefaultMaxSprites {
		t.Errorf("default MaxSprites = %d, want %d", got, DefaultMaxSprites)
	}
	if got := (SessionConfig{MaxSprites: MaxSpritesLimit + 1}).withDefaults().MaxSprites; got != MaxSpritesLimit {
		t.Errorf("MaxSprites over the limit = %d, want %d", got, MaxSpritesLimit)
	}
}
