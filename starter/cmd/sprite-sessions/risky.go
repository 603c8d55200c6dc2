package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

func cmdRisky(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	var steps stringList
	fs.Var(&steps, "step", "command to run (repeatable, in order); with several sprites write NAME:COMMAND")
	verify := fs.String("verify", "", "command that must exit 0 after the steps")
	dir := fs.String("dir", "", "working directory of every command (default "+workflows.WorkspacePath+")")
	timeout := fs.Duration("timeout", 0, "timeout of each command (default 2m)")
	comment := fs.String("comment", "", "note stored with the checkpoints")
	var req workflows.RiskyStepRequest
	s, err := a.open(ctx, fs, args, func(rest []string) error {
		if len(steps) == 0 {
			return usagef("at least one --step is required")
		}
		var err error
		req, err = riskyRequest(strings.Split(a.sprite, ","), steps, *verify)
		if err != nil {
			return err
		}
		return noArgs(rest)
	})
	if err != nil {
		return err
	}
	req.Comment = *comment
	for i := range req.Steps {
		req.Steps[i].Dir, req.Steps[i].TimeoutMS = *dir, timeout.Milliseconds()
	}
	if req.Verify != nil {
		req.Verify.Dir, req.Verify.TimeoutMS = *dir, timeout.Milliseconds()
	}
	r, err := s.RunRiskyStep(ctx, req, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) { printRisky(w, req, r) })
	if !r.Success {
		return &exitCodeError{code: exitFailed}
	}
	return nil
}

// riskyRequest builds the request. With several sprites each command names
// its sprite as NAME:COMMAND; sprite names cannot contain ':', so the prefix
// is unambiguous when it is one of the listed sprites.
func riskyRequest(sprites, steps []string, verify string) (workflows.RiskyStepRequest, error) {
	req := workflows.RiskyStepRequest{Sprites: sprites}
	parse := func(s string) (workflows.RiskyCommand, error) {
		if len(sprites) == 1 {
			return workflows.RiskyCommand{Command: s}, nil
		}
		name, cmd, ok := strings.Cut(s, ":")
		if !ok || !slices.Contains(sprites, name) {
			return workflows.RiskyCommand{}, usagef("%q: with several sprites, write each command as NAME:COMMAND with NAME one of %s", s, strings.Join(sprites, ", "))
		}
		return workflows.RiskyCommand{SpriteName: name, Command: strings.TrimSpace(cmd)}, nil
	}
	for _, s := range steps {
		c, err := parse(s)
		if err != nil {
			return req, err
		}
		req.Steps = append(req.Steps, c)
	}
	if verify != "" {
		c, err := parse(verify)
		if err != nil {
			return req, err
		}
		req.Verify = &c
	}
	return req, nil
}

func printRisky(w io.Writer, req workflows.RiskyStepRequest, r workflows.RiskyStepResponse) {
	for _, sp := range req.Sprites {
		if id, ok := r.Checkpoints[sp]; ok {
			fmt.Fprintf(w, "checkpoint %s of sprite %s\n", id, sp)
		}
	}
	show := func(label string, o workflows.StepOutput) {
		fmt.Fprintf(w, "%s on %s: exit %d", label, o.SpriteName, o.ExitCode)
		if o.TimedOut {
			fmt.Fprint(w, " (timed out)")
		}
		if o.Error != "" {
			fmt.Fprintf(w, " (error: %s)", o.Error)
		}
		fmt.Fprintln(w)
		for _, out := range []string{o.Stdout, o.Stderr} {
			if out = strings.TrimRight(out, "\n"); out != "" {
				fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(out, "\n", "\n  "))
			}
		}
	}
	for i, o := range r.Steps {
		show(fmt.Sprintf("step %d", i+1), o)
	}
	if r.Verify != nil {
		show("verify", *r.Verify)
	}
	switch {
	case r.Success:
		fmt.Fprintln(w, "success: checkpoints kept for a manual restore")
	case r.CheckpointFailed != "":
		fmt.Fprintf(w, "failed: could not checkpoint %s, no step ran (%s)\n", r.CheckpointFailed, r.Reason)
	default:
		fmt.Fprintf(w, "failed: %s; restored: %v\n", r.Reason, r.Restored)
	}
	if len(r.Tainted) > 0 {
		fmt.Fprintf(w, "TAINTED (restore failed, only restore or delete allowed): %s\n", strings.Join(r.Tainted, ", "))
	}
}
