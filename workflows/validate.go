package workflows

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Bounds of requests beyond the documented limits in api.go.
const (
	minCPUs          = 1
	maxCPUs          = 8
	minMemoryMB      = 256
	maxMemoryMB      = 16384
	maxPathLen       = 4096
	maxCommentLen    = 1024
	maxRiskySprites  = 16
	maxRiskyCommands = 32
)

var (
	// modeRE accepts octal permission strings such as "644", "0644", "0755"
	// or "1777".
	modeRE = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	// checkpointIDRE accepts the Sprites API's checkpoint IDs: "v<N>" for
	// user checkpoints and "auto-..." for automatic ones.
	checkpointIDRE = regexp.MustCompile(`^(v[0-9]{1,9}|auto-[A-Za-z0-9._:-]{1,120})$`)
)

// spriteRef checks a reference to a sprite: a valid name that this session
// owns. A sprite of another session cannot be named at all: names are
// logical and map to provider names derived from this session's ID.
func (s *session) spriteRef(name string, allowTainted bool) error {
	if err := ValidateSpriteName(name); err != nil {
		return err
	}
	sp := s.st.Sprites[name]
	if sp == nil {
		return fmt.Errorf("unknown sprite %q: this session owns %s", name, s.ownedList())
	}
	if sp.Tainted && !allowTainted {
		return fmt.Errorf("sprite %q is tainted (an automatic restore failed, its files are in an unknown state): only RestoreCheckpoint and DeleteSprite are allowed until one succeeds", name)
	}
	return nil
}

func (s *session) ownedList() string {
	if len(s.st.Sprites) == 0 {
		return "no sprites"
	}
	names := workflow.DeterministicKeys(s.st.Sprites)
	return "[" + strings.Join(names, ", ") + "]"
}

func (s *session) validateCreate(req CreateSpriteRequest) error {
	if err := ValidateSpriteName(req.SpriteName); err != nil {
		return err
	}
	if req.CPUs != 0 && (req.CPUs < minCPUs || req.CPUs > maxCPUs) {
		return fmt.Errorf("cpus %d out of range %d-%d", req.CPUs, minCPUs, maxCPUs)
	}
	if req.MemoryMB != 0 && (req.MemoryMB < minMemoryMB || req.MemoryMB > maxMemoryMB) {
		return fmt.Errorf("memory_mb %d out of range %d-%d", req.MemoryMB, minMemoryMB, maxMemoryMB)
	}
	return s.spriteLimit(req.SpriteName)
}

// spriteLimit refuses a new sprite name once the session owns, or is
// creating, MaxSprites sprites. A name it owns already is no new sprite.
// Replay-safe in the handler: MaxSprites is zero in runs recorded before
// the limit existed (see resolveConfig).
func (s *session) spriteLimit(name string) error {
	if s.cfg.MaxSprites <= 0 || s.st.Sprites[name] != nil || s.creating[name] {
		return nil // no limit (a run older than it), or no new sprite
	}
	if n := len(s.st.Sprites) + len(s.creating); n >= s.cfg.MaxSprites {
		return fmt.Errorf("the session owns or is creating %d sprites, its limit (max_sprites %d): delete one first", n, s.cfg.MaxSprites)
	}
	return nil
}

func (s *session) validateExec(req ExecRequest) error {
	if err := s.spriteRef(req.SpriteName, false); err != nil {
		return err
	}
	if err := validateCommand(req.Command, req.Argv, req.Env, req.Dir, req.TimeoutMS); err != nil {
		return err
	}
	if len(req.Stdin) > s.cfg.MaxWriteBytes {
		return fmt.Errorf("stdin of %d bytes exceeds the session's limit of %d bytes", len(req.Stdin), s.cfg.MaxWriteBytes)
	}
	return nil
}

// validateCommand checks the shape every command shares: exactly one of a
// shell command and argv, sane env and dir, a timeout within the limit.
func validateCommand(command string, argv []string, env map[string]string, dir string, timeoutMS int64) error {
	switch {
	case command != "" && len(argv) > 0:
		return errors.New("set either command or argv, not both")
	case strings.TrimSpace(command) == "" && len(argv) == 0:
		return errors.New("empty command: set command or argv")
	case len(argv) > 0 && argv[0] == "":
		return errors.New("argv[0] is empty")
	}
	for _, k := range workflow.DeterministicKeys(env) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("invalid env name %q", k)
		}
	}
	if strings.ContainsRune(dir, 0) {
		return errors.New("dir contains a NUL byte")
	}
	if timeoutMS < 0 {
		return fmt.Errorf("timeout %d ms is negative", timeoutMS)
	}
	if time.Duration(timeoutMS)*time.Millisecond > MaxExecTimeout {
		return fmt.Errorf("timeout %d ms exceeds the maximum of %d ms", timeoutMS, MaxExecTimeout.Milliseconds())
	}
	return nil
}

func validatePath(path string) error {
	switch {
	case strings.TrimSpace(path) == "":
		return errors.New("path is empty")
	case len(path) > maxPathLen:
		return fmt.Errorf("path of %d bytes is longer than %d", len(path), maxPathLen)
	case strings.ContainsRune(path, 0):
		return errors.New("path contains a NUL byte")
	}
	return nil
}

func (s *session) validateReadFile(req ReadFileRequest) error {
	if err := s.spriteRef(req.SpriteName, false); err != nil {
		return err
	}
	return validatePath(req.Path)
}

func (s *session) validateWriteFile(req WriteFileRequest) error {
	if err := s.spriteRef(req.SpriteName, false); err != nil {
		return err
	}
	if err := validatePath(req.Path); err != nil {
		return err
	}
	size := len(req.Content)
	switch req.Encoding {
	case "", EncodingUTF8:
	case EncodingBase64:
		raw, err := base64.StdEncoding.DecodeString(req.Content)
		if err != nil {
			return fmt.Errorf("content is not valid base64: %w", err)
		}
		size = len(raw)
	default:
		return fmt.Errorf("unknown encoding %q: want %q or %q", req.Encoding, EncodingUTF8, EncodingBase64)
	}
	if size > s.cfg.MaxWriteBytes {
		return fmt.Errorf("content of %d bytes exceeds the session's write limit of %d bytes", size, s.cfg.MaxWriteBytes)
	}
	if req.Mode != "" && !modeRE.MatchString(req.Mode) {
		return fmt.Errorf("invalid mode %q: want an octal string such as \"0644\"", req.Mode)
	}
	return nil
}

func (s *session) validateDelete(req DeleteSpriteRequest) error {
	return s.spriteRef(req.SpriteName, true)
}

func (s *session) validateCheckpoint(req CheckpointRequest) error {
	if err := s.spriteRef(req.SpriteName, false); err != nil {
		return err
	}
	if len(req.Comment) > maxCommentLen {
		return errTooLong("comment", maxCommentLen)
	}
	return nil
}

func (s *session) validateRestore(req RestoreCheckpointRequest) error {
	if err := s.spriteRef(req.SpriteName, true); err != nil {
		return err
	}
	if req.CheckpointID == "" {
		return errors.New("checkpoint_id is empty")
	}
	if !checkpointIDRE.MatchString(req.CheckpointID) {
		return fmt.Errorf("checkpoint_id %q has an unknown format: want \"v<N>\" or \"auto-...\"", req.CheckpointID)
	}
	return nil
}

func (s *session) validateServiceURL(req ServiceURLRequest) error {
	return s.spriteRef(req.SpriteName, false)
}

func (s *session) validateRiskyStep(req RiskyStepRequest) error {
	if len(req.Sprites) == 0 {
		return errors.New("no sprites: name at least one sprite to checkpoint")
	}
	if len(req.Sprites) > maxRiskySprites {
		return fmt.Errorf("%d sprites; at most %d per risky step", len(req.Sprites), maxRiskySprites)
	}
	seen := map[string]bool{}
	for _, name := range req.Sprites {
		if seen[name] {
			return fmt.Errorf("sprite %q is named twice", name)
		}
		seen[name] = true
		if err := s.spriteRef(name, false); err != nil {
			return err
		}
	}
	if len(req.Steps) == 0 {
		return errors.New("no steps")
	}
	commands := len(req.Steps)
	if req.Verify != nil {
		commands++
	}
	if commands > maxRiskyCommands {
		return fmt.Errorf("%d commands (steps and verify); at most %d", commands, maxRiskyCommands)
	}
	check := func(what string, c RiskyCommand) error {
		if c.SpriteName == "" && len(req.Sprites) > 1 {
			return fmt.Errorf("%s names no sprite, and the step involves %d", what, len(req.Sprites))
		}
		if c.SpriteName != "" && !slices.Contains(req.Sprites, c.SpriteName) {
			return fmt.Errorf("%s names sprite %q, which is not in sprites %v", what, c.SpriteName, req.Sprites)
		}
		if err := validateCommand(c.Command, c.Argv, c.Env, c.Dir, c.TimeoutMS); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	for i, step := range req.Steps {
		if err := check(fmt.Sprintf("step %d", i), step); err != nil {
			return err
		}
	}
	if req.Verify != nil {
		if err := check("verify", *req.Verify); err != nil {
			return err
		}
	}
	if len(req.Comment) > maxCommentLen {
		return errTooLong("comment", maxCommentLen)
	}
	return nil
}

func errTooLong(field string, limit int) error {
	return fmt.Errorf("%s longer than %d bytes", field, limit)
}
