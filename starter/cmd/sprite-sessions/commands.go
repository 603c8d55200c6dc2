package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

type commandFunc func(ctx context.Context, a *app, name string, args []string) error

var commands = map[string]commandFunc{
	"create":     cmdCreate,
	"exec":       cmdExec,
	"read":       cmdRead,
	"write":      cmdWrite,
	"list":       cmdList,
	"delete":     cmdDelete,
	"checkpoint": cmdCheckpoint,
	"restore":    cmdRestore,
	"url":        cmdURL,
	"risky":      cmdRisky,
	"end":        cmdEnd,
	"describe":   cmdDescribe,
	"tools":      cmdTools,
	"demo":       cmdDemo,
}

// noArgs rejects positional arguments a command does not take.
func noArgs(rest []string) error {
	if len(rest) > 0 {
		return usagef("unexpected arguments %q", rest)
	}
	return nil
}

func cmdCreate(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	cpus := fs.Int("cpus", 0, "CPUs, 1-8 (default 1)")
	mem := fs.Int("memory-mb", 0, "memory in MB, 256-16384 (default 512)")
	public := fs.Bool("public", false, "make the sprite's URL reachable without auth")
	rest, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	if err := a.requireSprite(); err != nil {
		return err
	}
	s, err := a.sessionHandle(ctx)
	if err != nil {
		return err
	}
	r, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: a.sprite, CPUs: *cpus, MemoryMB: *mem, PublicURL: *public}, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) {
		verb := "created"
		if !r.Created {
			verb = "already in the session"
		}
		fmt.Fprintf(w, "sprite %s %s: %s, workspace %s\n", r.SpriteName, verb, r.Status, r.WorkspacePath)
		if r.ServiceURL != "" {
			fmt.Fprintf(w, "url %s\n", r.ServiceURL)
		}
	})
	return nil
}

func cmdExec(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	dir := fs.String("dir", "", "working directory (default "+workflows.WorkspacePath+")")
	env := envList{}
	fs.Var(env, "env", "environment variable KEY=VALUE (repeatable)")
	timeout := fs.Duration("timeout", 0, "command timeout (default 2m, max 10m)")
	stdinFile := fs.String("stdin", "", "file to feed the command's stdin ('-' for this program's stdin)")
	rest, err := a.parseCommand(fs, args)
	if err != nil {
		return err
	}
	if err := a.requireSprite(); err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("a command is required: exec --sprite NAME -- 'ls -la' (one argument runs under sh -lc, several run as argv)")
	}
	if *timeout < 0 {
		return usagef("--timeout must be positive")
	}
	req := workflows.ExecRequest{SpriteName: a.sprite, Dir: *dir, TimeoutMS: timeout.Milliseconds()}
	if len(env) > 0 {
		req.Env = env
	}
	if len(rest) == 1 {
		req.Command = rest[0]
	} else {
		req.Argv = rest
	}
	if *stdinFile != "" {
		b, err := a.readInput(*stdinFile)
		if err != nil {
			return err
		}
		req.Stdin = string(b)
	}
	s, err := a.sessionHandle(ctx)
	if err != nil {
		return err
	}
	r, err := s.Exec(ctx, req, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) {
		io.WriteString(w, r.Stdout)
		io.WriteString(a.stderr, r.Stderr)
		if r.StdoutTruncated || r.StderrTruncated {
			fmt.Fprintf(a.stderr, "%s exec: output truncated to the session's output cap\n", programName)
		}
		if r.TimedOut {
			fmt.Fprintf(a.stderr, "%s exec: the command timed out and was killed\n", programName)
		}
	})
	if r.ExitCode != 0 || r.TimedOut {
		if !a.json {
			fmt.Fprintf(a.stderr, "%s exec: exit code %d\n", programName, r.ExitCode)
		}
		return &exitCodeError{code: exitFailed}
	}
	return nil
}

func cmdDelete(ctx context.Context, a *app, name string, args []string) error {
	return spriteOnly(ctx, a, name, args, func(s *starter.Session) error {
		r, err := s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{SpriteName: a.sprite}, a.callOptions()...)
		if err != nil {
			return err
		}
		a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "sprite %s deleted\n", r.SpriteName) })
		return nil
	})
}

func cmdURL(ctx context.Context, a *app, name string, args []string) error {
	return spriteOnly(ctx, a, name, args, func(s *starter.Session) error {
		r, err := s.ServiceURL(ctx, workflows.ServiceURLRequest{SpriteName: a.sprite}, a.callOptions()...)
		if err != nil {
			return err
		}
		a.emit(r, func(w io.Writer) {
			access := "auth required"
			if r.Public {
				access = "public"
			}
			fmt.Fprintf(w, "%s (%s, sprite %s)\n", r.URL, access, r.Status)
			if len(r.Services) > 0 {
				fmt.Fprintf(w, "services: %s\n", strings.Join(r.Services, ", "))
			}
		})
		return nil
	})
}

// spriteOnly runs a command whose only input is --sprite.
func spriteOnly(ctx context.Context, a *app, name string, args []string, f func(*starter.Session) error) error {
	fs := a.flags(name, true)
	rest, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	if err := a.requireSprite(); err != nil {
		return err
	}
	s, err := a.sessionHandle(ctx)
	if err != nil {
		return err
	}
	return f(s)
}

func cmdCheckpoint(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	comment := fs.String("comment", "", "note stored with the checkpoint")
	rest, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	if err := a.requireSprite(); err != nil {
		return err
	}
	s, err := a.sessionHandle(ctx)
	if err != nil {
		return err
	}
	r, err := s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: a.sprite, Comment: *comment}, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "checkpoint %s of sprite %s\n", r.CheckpointID, r.SpriteName) })
	return nil
}

func cmdRestore(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	id := fs.String("checkpoint", "", "checkpoint ID")
	rest, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	if err := a.requireSprite(); err != nil {
		return err
	}
	if *id == "" {
		return usagef("--checkpoint is required")
	}
	s, err := a.sessionHandle(ctx)
	if err != nil {
		return err
	}
	r, err := s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: a.sprite, CheckpointID: *id}, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) {
		fmt.Fprintf(w, "sprite %s restored to checkpoint %s\n", r.SpriteName, r.CheckpointID)
	})
	return nil
}
