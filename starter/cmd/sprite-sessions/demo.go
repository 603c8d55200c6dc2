package main

import (
	"context"
	"slices"

	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

func cmdDemo(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	rest, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	opts := starter.DemoOptions{SessionID: a.session, SpriteName: a.sprite, BackendSprites: a.backendLister()}
	progress := a.stdout
	if a.json {
		progress = a.stderr
	}
	if err := starter.RunDemo(ctx, c, progress, opts); err != nil {
		return err
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true})
	}
	return nil
}

// backendLister lists, when SPRITES_API_URL and SPRITES_TOKEN are set, the
// sprites the backend holds for a session, so the demo can show there are
// none left at the source and not only in the session's own view.
func (a *app) backendLister() func(context.Context, string) ([]string, error) {
	base, _ := a.env.Lookup("SPRITES_API_URL")
	token, _ := a.env.Lookup("SPRITES_TOKEN")
	if base == "" || token == "" {
		return nil
	}
	api := sprites.New(token, sprites.WithBaseURL(base))
	namespace := a.temporalEnv.Namespace
	return func(ctx context.Context, workflowID string) ([]string, error) {
		owner := workflows.OwnerLabel(namespace, workflowID)
		var names []string
		for sp, err := range api.AllSprites(ctx, sprites.ListOptions{}) {
			if err != nil {
				return nil, err
			}
			if slices.Contains(sp.Labels, owner) {
				names = append(names, sp.Name)
			}
		}
		return names, nil
	}
}
