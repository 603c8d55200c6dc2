package spritestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Backend is a Sprites API server the suite runs against, and what the
// suite may assume about it.
type Backend struct {
	// Client talks to the backend.
	Client *sprites.Client
	// Token, when set, is the client's bearer token. The suite then also
	// sends a few raw requests to check answers the client never provokes
	// because it validates first (a bad sprite name).
	Token string
	// NoServices skips the services tests, for backends without them.
	NoServices bool
	// Confined says the filesystem API refuses paths outside /home/sprite.
	// localsprites does (its sprites share the host); a real sprite is a
	// whole VM whose filesystem API reaches /, so leave it false there.
	Confined bool
}

// opTimeout bounds each group of subtests: a hung call fails the group
// instead of the whole test binary.
const opTimeout = 2 * time.Minute

// group is one area of the API, run on a backend of its own.
type group struct {
	name string
	run  func(t *testing.T, s *suite)
}

var groups = []group{
	{"Sprites", testSprites},
	{"Checkpoints", testCheckpoints},
	{"Exec", testExec},
	{"Filesystem", testFilesystem},
	{"Services", testServices},
	{"Policy", testPolicy},
}

// Run runs the suite. newBackend is called once per group of subtests
// (sprites, checkpoints, exec, filesystem, services, policy); the groups
// run in parallel. The sprites the suite creates carry a per-run prefix
// and are deleted when each group ends; a group that leaves one behind
// fails.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	t.Helper()
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t)
			if b.Client == nil {
				t.Fatal("Backend.Client is nil")
			}
			s := &suite{Backend: b, prefix: "st" + randomHex(3) + "-"}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			s.ctx = ctx
			// Registered first so that it runs last, after every sprite
			// cleanup of the group.
			t.Cleanup(func() {
				defer cancel()
				s.auditNoSprites(t)
			})
			g.run(t, s)
		})
	}
}

// suite is the state of one group: its backend, context and name prefix.
type suite struct {
	Backend
	ctx    context.Context
	prefix string
}

// name returns a sprite name unique to this group and run.
func (s *suite) name(label string) string {
	n := s.prefix + label
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

// newSprite creates a sprite for the calling test and deletes it when the
// test ends.
func (s *suite) newSprite(t *testing.T, label string) string {
	t.Helper()
	name := s.name(label)
	if _, err := s.Client.CreateSprite(s.ctx, sprites.CreateRequest{Name: name}); err != nil {
		t.Fatalf("CreateSprite(%s): %v", name, err)
	}
	s.deleteAtEnd(t, name)
	return name
}

// deleteAtEnd deletes a sprite when the test ends; one that is gone
// already is fine.
func (s *suite) deleteAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Client.DeleteSprite(ctx, name); err != nil && !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("cleanup: DeleteSprite(%s): %v", name, err)
		}
	})
}

// auditNoSprites fails the group when a sprite with its prefix is left.
func (s *suite) auditNoSprites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for sp, err := range s.Client.AllSprites(ctx, sprites.ListOptions{Prefix: s.prefix}) {
		if err != nil {
			t.Errorf("leak audit: listing sprites: %v", err)
			return
		}
		t.Errorf("leak audit: sprite %s was left behind", sp.Name)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
