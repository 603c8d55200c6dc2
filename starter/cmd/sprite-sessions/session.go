package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

func cmdList(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, false)
	s, err := a.open(ctx, fs, args, nil)
	if err != nil {
		return err
	}
	r, err := s.ListSprites(ctx)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) { printSprites(w, r.Sprites) })
	return nil
}

func printSprites(w io.Writer, sprites []workflows.SpriteInfo) {
	if len(sprites) == 0 {
		fmt.Fprintln(w, "no sprites")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tSTARTED\tCHECKPOINTS\tURL")
	for _, sp := range sprites {
		status := sp.Status
		if sp.Tainted {
			status += " (tainted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", sp.SpriteName, status, sp.StartedAt.Local().Format(time.DateTime), len(sp.Checkpoints), sp.ServiceURL)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d sprite(s)\n", len(sprites))
}

func cmdEnd(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, false)
	reason := fs.String("reason", "", "why the session ends")
	s, err := a.open(ctx, fs, args, nil)
	if err != nil {
		return err
	}
	r, err := s.End(ctx, workflows.EndSessionRequest{Reason: *reason}, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) {
		deleted := "none"
		if len(r.Deleted) > 0 {
			deleted = strings.Join(r.Deleted, ", ")
		}
		fmt.Fprintf(w, "session %s ended; sprites deleted: %s\n", s.ID(), deleted)
		if len(r.Failed) > 0 {
			fmt.Fprintf(w, "not confirmed deleted (the reaper will retry): %s\n", strings.Join(r.Failed, ", "))
		}
	})
	if len(r.Failed) > 0 {
		return &exitCodeError{code: exitFailed}
	}
	return nil
}

func cmdDescribe(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, false)
	s, err := a.open(ctx, fs, args, nil)
	if err != nil {
		return err
	}
	d, err := s.Describe(ctx)
	if err != nil {
		return err
	}
	a.emit(d, func(w io.Writer) {
		c := d.Counters
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "session\t%s (%s), run %d\n", d.SessionID, d.State, d.Runs+1)
		fmt.Fprintf(tw, "started\t%s\n", when(d.StartedAt))
		if d.State == workflows.StateActive {
			fmt.Fprintf(tw, "idle timeout\t%s\n", when(d.IdleDeadline))
			fmt.Fprintf(tw, "lifetime ends\t%s\n", when(d.LifetimeDeadline))
		}
		fmt.Fprintf(tw, "updates\t%d (%d failed)\n", c.Updates, c.Failed)
		fmt.Fprintf(tw, "sprites\t%d created, %d deleted\n", c.SpritesCreated, c.SpritesDeleted)
		fmt.Fprintf(tw, "work\t%d execs, %d checkpoints, %d restores, %d risky steps (%d restored)\n",
			c.Execs, c.Checkpoints, c.Restores, c.RiskySteps, c.RiskyRestored)
		tw.Flush()
		fmt.Fprintln(w)
		printSprites(w, d.Sprites)
	})
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Until(t).Round(time.Second)
	rel := fmt.Sprintf("in %s", d)
	if d < 0 {
		rel = fmt.Sprintf("%s ago", -d)
	}
	return fmt.Sprintf("%s (%s)", t.Local().Format(time.DateTime), rel)
}
