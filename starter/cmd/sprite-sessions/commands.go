package main

import (
	"context"
	"fmt"
	"io"
	"strings"

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

func cmdCreate(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	cpus := fs.Int("cpus", 0, "CPUs, 1-8 (default 1)")
	mem := fs.Int("memory-mb", 0, "memory in MB, 256-16384 (default 512)")
	public := fs.Bool("public", false, "make the sprite's URL reachable without auth")
	s, err := a.open(ctx, fs, args, nil)
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
	req := workflows.ExecRequest{Dir: *dir, TimeoutMS: timeout.Milliseconds()}
	s, err := a.openParsed(ctx, rest, func(rest []string) error {
		if len(rest) == 0 {
			return usagef("a command is required: exec --sprite NAME -- 'ls -la' (one argument runs under sh -lc, several run as argv)")
		}
		if *timeout < 0 {
			return usagef("--timeout must be positive")
		}
		if *stdinFile != "" {
			b, err := a.readInput(*stdinFile)
			if err != nil {
				return err
			}
			req.Stdin = string(b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	req.SpriteName = a.sprite
	if len(env) > 0 {
		req.Env = env
	}
	if len(rest) == 1 {
		req.Command = rest[0]
	} else {
		req.Argv = rest
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
	s, err := a.open(ctx, a.flags(name, true), args, nil)
	if err != nil {
		return err
	}
	r, err := s.DeleteSprite(ctx, workflows.DeleteSpriteRequest{SpriteName: a.sprite}, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "sprite %s deleted\n", r.SpriteName) })
	return nil
}

func cmdURL(ctx context.Context, a *app, name string, args []string) error {
	s, err := a.open(ctx, a.flags(name, true), args, nil)
	if err != nil {
		return err
	}
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
}

func cmdCheckpoint(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	comment := fs.String("comment", "", "note stored with the checkpoint")
	s, err := a.open(ctx, fs, args, nil)
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
	s, err := a.open(ctx, fs, args, func(rest []string) error {
		if *id == "" {
			return usagef("--checkpoint is required")
		}
		return noArgs(rest)
	})
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
