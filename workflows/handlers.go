package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprite-sessions/sprite-sessions/activities"
)

// Handlers of the sprite operations. Each runs under its sprite's lock, so
// operations on one sprite never interleave; the validator has already
// checked the request, and acquire re-checks the sprite after the wait.

func (s *session) createSprite(ctx workflow.Context, req CreateSpriteRequest) (CreateSpriteResponse, error) {
	name := req.SpriteName
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return CreateSpriteResponse{}, err
	}
	defer unlock()
	if sp := s.st.Sprites[name]; sp != nil {
		return createResponse(sp, false), nil
	}
	if err := s.spriteLimit(name); err != nil {
		return CreateSpriteResponse{}, temporal.NewNonRetryableApplicationError("create sprite "+name+": "+err.Error(), ErrTypeSpriteLimit, nil)
	}
	cpus, mem := req.CPUs, req.MemoryMB
	if cpus == 0 {
		cpus = DefaultCPUs
	}
	if mem == 0 {
		mem = DefaultMemoryMB
	}
	in := activities.CreateSpriteInput{
		ProviderName: ProviderName(s.namespace, s.id, name),
		Labels:       OwnerLabels(s.namespace, s.wfID),
		PublicURL:    req.PublicURL,
		CPUs:         cpus,
		MemoryMB:     mem,
	}
	s.creating[name] = true
	var out activities.CreateSpriteOutput
	err = workflow.ExecuteActivity(withOptions(ctx, createOptions()), acts.CreateSprite, in).Get(ctx, &out)
	delete(s.creating, name)
	if err != nil {
		// A create that failed for any reason but a refusal may still have
		// made the sprite; cleanup deletes it (a missing sprite deletes fine).
		if !hasErrType(err, activities.ErrTypeConflict, activities.ErrTypeInvalidArgument, activities.ErrTypeUnauthorized) {
			s.addOrphan(name)
		}
		return CreateSpriteResponse{}, opError("create sprite "+name, err)
	}
	s.removeOrphan(name)
	createdAt := out.CreatedAt
	if createdAt.IsZero() {
		createdAt = workflow.Now(ctx)
	}
	sp := &SpriteState{
		SpriteName:   name,
		ProviderName: in.ProviderName,
		Status:       out.Status,
		URL:          out.URL,
		PublicURL:    req.PublicURL,
		CPUs:         cpus,
		MemoryMB:     mem,
		CreatedAt:    createdAt,
	}
	s.st.Sprites[name] = sp
	s.st.Counters.SpritesCreated++
	s.logger.Info("Sprite created", "Sprite", name, "ProviderName", in.ProviderName, "Existed", out.Existed)
	return createResponse(sp, true), nil
}

func createResponse(sp *SpriteState, created bool) CreateSpriteResponse {
	return CreateSpriteResponse{
		SpriteName:    sp.SpriteName,
		Status:        sp.Status,
		WorkspacePath: WorkspacePath,
		ServiceURL:    sp.URL,
		Created:       created,
	}
}

func (s *session) exec(ctx workflow.Context, req ExecRequest) (ExecResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, false)
	if err != nil {
		return ExecResponse{}, err
	}
	defer unlock()
	s.st.Counters.Execs++
	out, err := s.runCommand(ctx, sp, commandArgv(req.Command, req.Argv), req.Env, req.Dir, req.Stdin, req.TimeoutMS, s.cfg.OutputCap)
	if err != nil {
		return ExecResponse{}, opError("exec in sprite "+req.SpriteName, err)
	}
	return ExecResponse{
		SpriteName:      req.SpriteName,
		ExitCode:        out.ExitCode,
		Stdout:          out.Stdout,
		Stderr:          out.Stderr,
		StdoutTruncated: out.StdoutTruncated,
		StderrTruncated: out.StderrTruncated,
		TimedOut:        out.TimedOut,
		DurationMS:      out.DurationMS,
	}, nil
}

// commandArgv runs a shell command as `sh -lc`, as the Everruns tool does.
func commandArgv(command string, argv []string) []string {
	if command != "" {
		return []string{"sh", "-lc", command}
	}
	return slices.Clone(argv)
}

// runCommand runs one command in a sprite with its timeout (default
// DefaultExecTimeout) and an output cap per stream.
func (s *session) runCommand(ctx workflow.Context, sp *SpriteState, argv []string, env map[string]string, dir, stdin string, timeoutMS int64, outputCap int) (activities.ExecOutput, error) {
	timeout := DefaultExecTimeout
	if timeoutMS > 0 {
		timeout = time.Duration(timeoutMS) * time.Millisecond
	}
	in := activities.ExecInput{
		ProviderName: sp.ProviderName,
		Argv:         argv,
		Env:          env,
		Dir:          dir,
		Stdin:        stdin,
		Timeout:      timeout,
		OutputCap:    outputCap,
	}
	var out activities.ExecOutput
	err := workflow.ExecuteActivity(withOptions(ctx, execOptions(timeout)), acts.Exec, in).Get(ctx, &out)
	return out, err
}

func (s *session) readFile(ctx workflow.Context, req ReadFileRequest) (ReadFileResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, false)
	if err != nil {
		return ReadFileResponse{}, err
	}
	defer unlock()
	in := activities.ReadFileInput{ProviderName: sp.ProviderName, Path: req.Path, MaxBytes: s.cfg.OutputCap}
	var out activities.ReadFileOutput
	if err := workflow.ExecuteActivity(withOptions(ctx, quickOptions()), acts.ReadFile, in).Get(ctx, &out); err != nil {
		return ReadFileResponse{}, opError(fmt.Sprintf("read %s in sprite %s", req.Path, req.SpriteName), err)
	}
	return ReadFileResponse{
		SpriteName: req.SpriteName,
		Path:       req.Path,
		Content:    out.Content,
		Encoding:   out.Encoding,
		Size:       out.Size,
		Truncated:  out.Truncated,
	}, nil
}

func (s *session) writeFile(ctx workflow.Context, req WriteFileRequest) (WriteFileResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, false)
	if err != nil {
		return WriteFileResponse{}, err
	}
	defer unlock()
	in := activities.WriteFileInput{
		ProviderName: sp.ProviderName,
		Path:         req.Path,
		Content:      req.Content,
		Encoding:     req.Encoding,
		Mode:         req.Mode,
	}
	if in.Encoding == "" {
		in.Encoding = EncodingUTF8
	}
	if in.Mode == "" {
		in.Mode = "0644"
	}
	var out activities.WriteFileOutput
	if err := workflow.ExecuteActivity(withOptions(ctx, quickOptions()), acts.WriteFile, in).Get(ctx, &out); err != nil {
		return WriteFileResponse{}, opError(fmt.Sprintf("write %s in sprite %s", req.Path, req.SpriteName), err)
	}
	path := out.Path
	if path == "" {
		path = req.Path
	}
	return WriteFileResponse{Path: path, Success: true, Size: out.Size}, nil
}

func (s *session) deleteSprite(ctx workflow.Context, req DeleteSpriteRequest) (DeleteSpriteResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, true)
	if err != nil {
		return DeleteSpriteResponse{}, err
	}
	defer unlock()
	in := activities.DeleteSpriteInput{ProviderName: sp.ProviderName}
	if err := workflow.ExecuteActivity(withOptions(ctx, deleteOptions(deleteBudget)), acts.DeleteSprite, in).Get(ctx, nil); err != nil {
		return DeleteSpriteResponse{}, opError("delete sprite "+req.SpriteName, err)
	}
	delete(s.st.Sprites, req.SpriteName)
	s.removeOrphan(req.SpriteName)
	s.st.Counters.SpritesDeleted++
	s.logger.Info("Sprite deleted", "Sprite", req.SpriteName)
	return DeleteSpriteResponse{SpriteName: req.SpriteName, Action: "delete", Success: true}, nil
}

func (s *session) checkpoint(ctx workflow.Context, req CheckpointRequest) (CheckpointResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, false)
	if err != nil {
		return CheckpointResponse{}, err
	}
	defer unlock()
	cp, err := s.takeCheckpoint(ctx, sp, req.Comment).get(ctx)
	if err != nil {
		return CheckpointResponse{}, opError("checkpoint sprite "+req.SpriteName, err)
	}
	return CheckpointResponse{SpriteName: req.SpriteName, CheckpointID: cp.ID, Success: true, CreatedAt: cp.CreatedAt}, nil
}

// maxKeptCheckpoints bounds the checkpoints a sprite's state lists. Every
// risky step adds one per sprite, and the state is the continue-as-new input
// and the Describe answer: unbounded, a long session would outgrow the
// payload limit. Older checkpoints stay at the provider, and
// RestoreCheckpoint still takes their IDs.
const maxKeptCheckpoints = 64

// pendingCheckpoint is a checkpoint activity under way; get records the
// checkpoint on the sprite once it completes. Splitting start and get lets
// the saga checkpoint several sprites in parallel.
type pendingCheckpoint struct {
	s       *session
	sprite  *SpriteState
	comment string
	future  workflow.Future
}

func (s *session) takeCheckpoint(ctx workflow.Context, sp *SpriteState, comment string) pendingCheckpoint {
	in := activities.CheckpointInput{ProviderName: sp.ProviderName, Comment: comment}
	f := workflow.ExecuteActivity(withOptions(ctx, streamOptions()), acts.Checkpoint, in)
	return pendingCheckpoint{s: s, sprite: sp, comment: comment, future: f}
}

func (p pendingCheckpoint) get(ctx workflow.Context) (CheckpointInfo, error) {
	var out activities.CheckpointOutput
	if err := p.future.Get(ctx, &out); err != nil {
		return CheckpointInfo{}, err
	}
	cp := CheckpointInfo{ID: out.ID, Comment: p.comment, CreatedAt: out.CreatedAt}
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = workflow.Now(ctx)
	}
	p.sprite.Checkpoints = append(p.sprite.Checkpoints, cp)
	if extra := len(p.sprite.Checkpoints) - maxKeptCheckpoints; extra > 0 {
		p.sprite.Checkpoints = slices.Delete(p.sprite.Checkpoints, 0, extra)
	}
	p.s.st.Counters.Checkpoints++
	return cp, nil
}

func (s *session) restoreCheckpoint(ctx workflow.Context, req RestoreCheckpointRequest) (RestoreCheckpointResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, true)
	if err != nil {
		return RestoreCheckpointResponse{}, err
	}
	defer unlock()
	in := activities.RestoreInput{ProviderName: sp.ProviderName, CheckpointID: req.CheckpointID}
	if err := workflow.ExecuteActivity(withOptions(ctx, streamOptions()), acts.Restore, in).Get(ctx, nil); err != nil {
		return RestoreCheckpointResponse{}, opError(fmt.Sprintf("restore sprite %s to %s", req.SpriteName, req.CheckpointID), err)
	}
	sp.Tainted = false
	s.st.Counters.Restores++
	s.logger.Info("Sprite restored", "Sprite", req.SpriteName, "CheckpointID", req.CheckpointID)
	return RestoreCheckpointResponse{SpriteName: req.SpriteName, CheckpointID: req.CheckpointID, Restored: true}, nil
}

func (s *session) serviceURL(ctx workflow.Context, req ServiceURLRequest) (ServiceURLResponse, error) {
	sp, unlock, err := s.acquire(ctx, req.SpriteName, false)
	if err != nil {
		return ServiceURLResponse{}, err
	}
	defer unlock()
	in := activities.ServiceURLInput{ProviderName: sp.ProviderName}
	var out activities.ServiceURLOutput
	if err := workflow.ExecuteActivity(withOptions(ctx, quickOptions()), acts.ServiceURL, in).Get(ctx, &out); err != nil {
		return ServiceURLResponse{}, opError("service URL of sprite "+req.SpriteName, err)
	}
	if out.Status != "" {
		sp.Status = out.Status
	}
	if out.URL != "" {
		sp.URL = out.URL
	}
	sp.PublicURL = out.Public
	return ServiceURLResponse{SpriteName: req.SpriteName, Status: out.Status, URL: out.URL, Public: out.Public, Services: out.Services}, nil
}

func (s *session) addOrphan(name string) {
	if !slices.Contains(s.st.Orphans, name) {
		s.st.Orphans = append(s.st.Orphans, name)
	}
}

func (s *session) removeOrphan(name string) {
	s.st.Orphans = slices.DeleteFunc(s.st.Orphans, func(n string) bool { return n == name })
}

// opError keeps the activity's error type (NotFound, Conflict, ...) visible
// to the caller of the update and says which operation failed.
func opError(op string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: %s", op, appErr.Message()), appErr.Type(), err)
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return err // interrupted() explains it
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: timed out (%v)", op, timeout.TimeoutType()), ErrTypeTimeout, err)
	}
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: %v", op, err), "", err)
}

// hasErrType reports whether err carries an application error of one of
// the types.
func hasErrType(err error, types ...string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && slices.Contains(types, appErr.Type())
}
