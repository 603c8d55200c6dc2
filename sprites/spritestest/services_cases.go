package spritestest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// serviceWindow is how long a service call streams its log: short, the
// suite only needs the first events.
const serviceWindow = 300 * time.Millisecond

func testServices(t *testing.T, s *suite) {
	if s.NoServices {
		t.Skip("the backend has no services")
	}
	c := s.Client
	name := s.newSprite(t, "svc")
	port := 18080

	t.Run("PutStartsServiceThatListShows", func(t *testing.T) {
		events, err := c.PutService(s.ctx, name, "worker", sprites.Service{
			Cmd:  "/bin/sh",
			Args: []string{"-c", "echo service-up; exec sleep 60"},
			Env:  map[string]string{"SUITE": "1"},
		}, serviceWindow)
		if err != nil {
			t.Fatalf("PutService: %v", err)
		}
		if !slices.ContainsFunc(events, func(ev sprites.StreamEvent) bool { return ev.Type == "started" }) {
			t.Errorf("PutService events = %+v, want a started event", events)
		}
		list, err := c.ListServices(s.ctx, name)
		if err != nil {
			t.Fatalf("ListServices: %v", err)
		}
		i := slices.IndexFunc(list, func(sv sprites.ServiceWithState) bool { return sv.Name == "worker" })
		if i < 0 {
			t.Fatalf("ListServices = %+v, want worker listed", list)
		}
		if got := list[i]; got.Cmd != "/bin/sh" || got.State == nil || got.State.Status != "running" {
			t.Errorf("listed worker = %+v (state %+v), want cmd /bin/sh and status running", got, got.State)
		}
	})

	t.Run("StopIsConflictWhenNotRunning", func(t *testing.T) {
		if _, err := c.StopService(s.ctx, name, "worker", time.Second); err != nil {
			t.Fatalf("StopService: %v", err)
		}
		got, err := c.GetService(s.ctx, name, "worker")
		if err != nil {
			t.Fatalf("GetService: %v", err)
		}
		if got.State == nil || got.State.Status != "stopped" {
			t.Errorf("state after stop = %+v, want stopped", got.State)
		}
		if _, err := c.StopService(s.ctx, name, "worker", time.Second); !errors.Is(err, sprites.ErrConflict) {
			t.Errorf("second StopService = %v, want ErrConflict", err)
		}
	})

	t.Run("SecondHTTPPortIsConflict", func(t *testing.T) {
		web := sprites.Service{Cmd: "sleep", Args: []string{"60"}, HTTPPort: &port}
		if _, err := c.PutService(s.ctx, name, "web", web, serviceWindow); err != nil {
			t.Fatalf("PutService(web): %v", err)
		}
		other := port + 1
		web2 := sprites.Service{Cmd: "sleep", Args: []string{"60"}, HTTPPort: &other}
		if _, err := c.PutService(s.ctx, name, "web2", web2, serviceWindow); !errors.Is(err, sprites.ErrConflict) {
			t.Errorf("PutService(web2 with a second http_port) = %v, want ErrConflict", err)
		}
	})

	t.Run("DeleteRemovesService", func(t *testing.T) {
		if err := c.DeleteService(s.ctx, name, "worker"); err != nil {
			t.Fatalf("DeleteService: %v", err)
		}
		if _, err := c.GetService(s.ctx, name, "worker"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("GetService after delete = %v, want ErrNotFound", err)
		}
		if err := c.DeleteService(s.ctx, name, "worker"); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("second DeleteService = %v, want ErrNotFound", err)
		}
	})
}
