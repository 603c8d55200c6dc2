package localsprites

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func (ts *testServer) status(name string) string {
	ts.t.Helper()
	var sp sprites.Sprite
	ts.call("GET", "/v1/sprites/"+name, nil, nil, http.StatusOK, &sp)
	return sp.Status
}

func TestStatus_RunningWhileActiveThenWarmThenColdAndWakes(t *testing.T) {
	forEachSandbox(t, func(t *testing.T, mode SandboxMode) {
		ts := start(t, Config{Sandbox: mode, Idle: Idle{WarmAfter: 200 * time.Millisecond, ColdAfter: 200 * time.Millisecond}})
		spriteID := ts.create("st").ID
		if s := ts.status("st"); s != sprites.StatusCold {
			t.Fatalf("new sprite is %s", s)
		}
		ts.writeFile("st", "go", "")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := ts.dial(ctx, "/v1/sprites/st/exec", execQuery([]string{"sh", "-c", "setsid sleep 3021.5 >/dev/null 2>&1 </dev/null & echo up; while [ -e go ]; do sleep 0.05; done"}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		readSession(ctx, t, c, func(r execResult) bool { return r.stdout == "up\n" })
		// Longer than both timings: an active session keeps it running.
		time.Sleep(500 * time.Millisecond)
		if s := ts.status("st"); s != sprites.StatusRunning {
			t.Fatalf("with a live session: %s", s)
		}
		ts.call("DELETE", "/v1/sprites/st/fs/delete", map[string][]string{"path": {"go"}}, nil, http.StatusOK, nil)
		if res := readSession(ctx, t, c, nil); !res.exited {
			t.Fatal("no exit")
		}
		eventually(t, 5*time.Second, "warm", func() bool { return ts.status("st") == sprites.StatusWarm })
		eventually(t, 5*time.Second, "cold", func() bool { return ts.status("st") == sprites.StatusCold })
		// Going cold stopped the sprite's processes, as a VM shutdown would.
		eventually(t, 5*time.Second, "the daemon to be stopped", func() bool { return len(processesWith(spriteID, "3021.5")) == 0 })

		var sp sprites.Sprite
		ts.call("GET", "/v1/sprites/st", nil, nil, http.StatusOK, &sp)
		if sp.LastRunningAt == nil || sp.LastWarmingAt == nil {
			t.Fatalf("timestamps %+v", sp)
		}
		// Any operation on the sprite wakes it.
		ts.readFile("st", "nothing")
		if s := ts.status("st"); s != sprites.StatusRunning {
			t.Fatalf("after a read: %s", s)
		}
	})
}
