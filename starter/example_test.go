package starter_test

import (
	"context"
	"fmt"
	"log"

	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// A service drives one session: the first call starts it, End deletes its
// sprites. (Compiled, not run: it needs a Temporal server and a worker.)
func Example() {
	ctx := context.Background()
	c, err := client.Dial(client.Options{HostPort: "localhost:7233"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	s := starter.New(c).Session("ticket-4711")
	if _, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "work"}); err != nil {
		log.Fatal(err)
	}
	res, err := s.Exec(ctx, workflows.ExecRequest{SpriteName: "work", Command: "go test ./..."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exit code", res.ExitCode)
	if _, err := s.End(ctx, workflows.EndSessionRequest{}); err != nil {
		log.Fatal(err)
	}
}
