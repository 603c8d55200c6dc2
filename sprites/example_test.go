package sprites_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func Example() {
	ctx := context.Background()
	client := sprites.New(os.Getenv("SPRITES_TOKEN")) // sprites.WithBaseURL(...) for localsprites

	if _, err := client.CreateSprite(ctx, sprites.CreateRequest{Name: "ss-demo"}); err != nil && !sprites.IsConflict(err) {
		log.Fatal(err)
	}
	// Sprites are billed while they exist: delete them when done. A sprite
	// that is gone already is not a failure here.
	defer func() {
		if err := client.DeleteSprite(ctx, "ss-demo"); err != nil && !sprites.IsNotFound(err) {
			log.Print(err)
		}
	}()

	cp, err := client.CreateCheckpoint(ctx, "ss-demo", "before risky step", nil)
	if err != nil {
		log.Fatal(err)
	}

	var out strings.Builder
	cmd := client.Command("ss-demo", "sh", "-c", "make test")
	cmd.Dir = "/home/sprite/project"
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	cmd.OnSession = func(id int64) { log.Printf("exec session %d", id) }
	err = cmd.Run(ctx)

	var exitErr *sprites.ExitError
	var lost *sprites.ConnectionLostError
	switch {
	case errors.As(err, &exitErr):
		// The step failed: go back to the checkpoint.
		if err := client.RestoreCheckpoint(ctx, "ss-demo", cp.ID, nil); err != nil {
			log.Fatal(err)
		}
	case errors.As(err, &lost):
		// The command may still run: attach again rather than re-running it.
		again := client.Attach("ss-demo", lost.SessionID)
		again.Stdout = &out
		err = again.Run(ctx)
	}
	fmt.Println(out.String(), err)
}

func ExampleClient_AllSprites() {
	ctx := context.Background()
	client := sprites.New(os.Getenv("SPRITES_TOKEN"))
	for s, err := range client.AllSprites(ctx, sprites.ListOptions{Prefix: "ss-"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Name, s.Status)
	}
}

func ExampleClient_WriteFile() {
	ctx := context.Background()
	client := sprites.New(os.Getenv("SPRITES_TOKEN"))
	// Relative paths resolve against /home/sprite; parents are created.
	if _, err := client.WriteFile(ctx, "ss-demo", "bin/run.sh", strings.NewReader("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		log.Fatal(err)
	}
	data, err := client.ReadFile(ctx, "ss-demo", "bin/run.sh")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
}
