package spritestest_test

import (
	"errors"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/localsprites"
	"github.com/sprite-sessions/sprite-sessions/sprites"
	"github.com/sprite-sessions/sprite-sessions/sprites/spritestest"
)

// token looks like a real one (org/id/secret).
const token = "acme/suite/s3cr3t"

// localBackend starts localsprites on a loopback port with a fresh state
// directory and stops it when the test ends.
func localBackend(mode localsprites.SandboxMode, quirks localsprites.Quirks) func(t *testing.T) spritestest.Backend {
	return func(t *testing.T) spritestest.Backend {
		t.Helper()
		srv, err := localsprites.Start(localsprites.Config{
			StateDir: t.TempDir(),
			Token:    token,
			Sandbox:  mode,
			Quirks:   quirks,
		}, "127.0.0.1:0")
		if err != nil {
			t.Fatalf("localsprites.Start: %v", err)
		}
		t.Cleanup(func() {
			if err := srv.Close(); err != nil {
				t.Errorf("localsprites Close: %v", err)
			}
		})
		if got := srv.SandboxName(); mode != localsprites.SandboxAuto && got != string(mode) {
			t.Fatalf("SandboxName = %q, want %q", got, mode)
		}
		return spritestest.Backend{
			Client:   sprites.New(token, sprites.WithBaseURL(srv.URL())),
			Token:    token,
			Confined: true,
		}
	}
}

// realServiceQuirks are the recorded behaviours of the real service that
// its documentation does not describe.
var realServiceQuirks = localsprites.Quirks{
	MissingSprite500:  true,
	ExecHoldAfterExit: 5 * time.Second,
	// The documented answer is 200 with the policy (the default); the
	// official Go client expects 204. The client must take both.
	PolicyPostNoContent: true,
}

func TestLocalsprites_PassesSuiteWithoutSandbox(t *testing.T) {
	spritestest.Run(t, localBackend(localsprites.SandboxPlain, localsprites.Quirks{}))
}

func TestLocalsprites_PassesSuiteInBubblewrap(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap is not installed")
	}
	spritestest.Run(t, localBackend(localsprites.SandboxBwrap, localsprites.Quirks{}))
}

func TestLocalsprites_PassesSuiteWithRealServiceQuirks(t *testing.T) {
	spritestest.Run(t, localBackend(localsprites.SandboxAuto, realServiceQuirks))
}

// TestLocalsprites_QuirksBackendAnswersLikeTheRealService makes sure the
// quirks variant of the suite really meets the recorded answers, so that
// its passing means the client copes with them.
func TestLocalsprites_QuirksBackendAnswersLikeTheRealService(t *testing.T) {
	b := localBackend(localsprites.SandboxPlain, realServiceQuirks)(t)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, err := http.NewRequest(method, b.Client.BaseURL()+"/v1/sprites/missing", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s of a missing sprite answered %d, want the recorded 500", method, resp.StatusCode)
		}
	}
	if _, err := b.Client.GetSprite(t.Context(), "missing"); !errors.Is(err, sprites.ErrNotFound) {
		t.Errorf("GetSprite(missing) against the 500 quirk = %v, want ErrNotFound", err)
	}
}
