package spritestest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func testSprites(t *testing.T, s *suite) {
	c := s.Client

	t.Run("CreateAnswersColdSpriteThatGetReturns", func(t *testing.T) {
		name := s.name("create")
		created, err := c.CreateSprite(s.ctx, sprites.CreateRequest{Name: name, Labels: []string{"suite"}})
		if err != nil {
			t.Fatalf("CreateSprite: %v", err)
		}
		s.deleteAtEnd(t, name)
		if created.Name != name || created.ID == "" || created.CreatedAt.IsZero() {
			t.Errorf("created sprite = %+v, want name %s, an id and created_at", created, name)
		}
		if created.Status != sprites.StatusCold {
			t.Errorf("status after create = %q, want %q", created.Status, sprites.StatusCold)
		}
		got, err := c.GetSprite(s.ctx, name)
		if err != nil {
			t.Fatalf("GetSprite: %v", err)
		}
		if got.ID != created.ID || !slices.Equal(got.Labels, []string{"suite"}) {
			t.Errorf("GetSprite = id %q labels %q, want id %q labels [suite]", got.ID, got.Labels, created.ID)
		}
		if s.Token == "" {
			return
		}
		// The client takes 200 too; the documented answer is 201.
		if status, apiErr := s.rawCreate(t, s.name("create-raw")); status != http.StatusCreated {
			t.Errorf("raw create answered %d (%v), want 201", status, apiErr)
		}
	})

	t.Run("CreateIsConflictWhenNameExists", func(t *testing.T) {
		name := s.newSprite(t, "dup")
		_, err := c.CreateSprite(s.ctx, sprites.CreateRequest{Name: name})
		if !errors.Is(err, sprites.ErrConflict) {
			t.Fatalf("second CreateSprite(%s) = %v, want ErrConflict", name, err)
		}
	})

	t.Run("CreateIsInvalidWhenNameIsBad", func(t *testing.T) {
		for _, bad := range []string{"", "Upper", "under_score", "-lead", "trail-", "dot.name", strings.Repeat("a", 64)} {
			_, err := c.CreateSprite(s.ctx, sprites.CreateRequest{Name: bad})
			if !errors.Is(err, sprites.ErrInvalid) {
				t.Errorf("CreateSprite(%q) = %v, want ErrInvalid", bad, err)
			}
		}
		if s.Token == "" {
			return
		}
		// The client refuses bad names itself; the server must too, with
		// the validation shape {"errors":[...]}.
		status, apiErr := s.rawCreate(t, "Bad_Name")
		if apiErr == nil {
			t.Fatalf("server answered %d to sprite name Bad_Name, want 400", status)
		}
		if !errors.Is(apiErr, sprites.ErrInvalid) || apiErr.StatusCode != http.StatusBadRequest || len(apiErr.Body.Errors) == 0 {
			t.Errorf("server answer to a bad name = %d %+v, want 400 {\"errors\":[...]}", apiErr.StatusCode, apiErr.Body)
		}
	})

	t.Run("GetAndDeleteAreNotFoundWhenSpriteMissing", func(t *testing.T) {
		name := s.name("missing")
		if _, err := c.GetSprite(s.ctx, name); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("GetSprite(missing) = %v, want ErrNotFound", err)
		}
		if err := c.DeleteSprite(s.ctx, name); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("DeleteSprite(missing) = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteRemovesSprite", func(t *testing.T) {
		name := s.newSprite(t, "delete")
		if err := c.DeleteSprite(s.ctx, name); err != nil {
			t.Fatalf("DeleteSprite: %v", err)
		}
		if _, err := c.GetSprite(s.ctx, name); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("GetSprite after delete = %v, want ErrNotFound", err)
		}
		if err := c.DeleteSprite(s.ctx, name); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("second DeleteSprite = %v, want ErrNotFound", err)
		}
	})

	t.Run("ListFiltersByPrefixAcrossPages", func(t *testing.T) {
		var want []string
		for i := range 5 {
			want = append(want, s.newSprite(t, fmt.Sprintf("page-%d", i)))
		}
		s.newSprite(t, "other") // shares the run prefix, not the page prefix
		prefix := s.name("page-")

		first, err := c.ListSprites(s.ctx, sprites.ListOptions{Prefix: prefix, MaxResults: 2})
		if err != nil {
			t.Fatalf("ListSprites: %v", err)
		}
		if len(first.Sprites) != 2 || first.NextToken() == "" {
			t.Errorf("first page of 2 = %d sprites, next token %q; want 2 and a token", len(first.Sprites), first.NextToken())
		}
		var got []string
		for sp, err := range c.AllSprites(s.ctx, sprites.ListOptions{Prefix: prefix, MaxResults: 2}) {
			if err != nil {
				t.Fatalf("AllSprites: %v", err)
			}
			got = append(got, sp.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("AllSprites(prefix %s, 2 a page) = %q, want %q", prefix, got, want)
		}
	})

	t.Run("UpdateReplacesLabelsAndURLSettings", func(t *testing.T) {
		name := s.newSprite(t, "update")
		labels := []string{"a", "b"}
		up, err := c.UpdateSprite(s.ctx, name, sprites.UpdateRequest{
			Labels:      &labels,
			URLSettings: &sprites.URLSettings{Auth: sprites.AuthPublic},
		})
		if err != nil {
			t.Fatalf("UpdateSprite: %v", err)
		}
		if !slices.Equal(up.Labels, labels) || up.URLSettings == nil || up.URLSettings.Auth != sprites.AuthPublic {
			t.Errorf("UpdateSprite answered labels %q url_settings %+v, want %q and auth public", up.Labels, up.URLSettings, labels)
		}
		labels = []string{"c"}
		if _, err := c.UpdateSprite(s.ctx, name, sprites.UpdateRequest{Labels: &labels}); err != nil {
			t.Fatalf("UpdateSprite(labels only): %v", err)
		}
		got, err := c.GetSprite(s.ctx, name)
		if err != nil {
			t.Fatalf("GetSprite: %v", err)
		}
		if !slices.Equal(got.Labels, labels) || got.URLSettings == nil || got.URLSettings.Auth != sprites.AuthPublic {
			t.Errorf("after updates: labels %q url_settings %+v, want [c] and auth public kept", got.Labels, got.URLSettings)
		}
		_, err = c.UpdateSprite(s.ctx, name, sprites.UpdateRequest{URLSettings: &sprites.URLSettings{Auth: "everyone"}})
		if !errors.Is(err, sprites.ErrInvalid) {
			t.Errorf("UpdateSprite(auth everyone) = %v, want ErrInvalid", err)
		}
		if _, err := c.UpdateSprite(s.ctx, s.name("nope"), sprites.UpdateRequest{Labels: &labels}); !errors.Is(err, sprites.ErrNotFound) {
			t.Errorf("UpdateSprite(missing) = %v, want ErrNotFound", err)
		}
	})
}

// rawCreate posts a create request without the client's validation and
// returns the status and, for an error, the decoded answer. A sprite it
// creates is deleted at the end of the test.
func (s *suite) rawCreate(t *testing.T, name string) (int, *sprites.APIError) {
	t.Helper()
	body, _ := json.Marshal(sprites.CreateRequest{Name: name})
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, strings.TrimRight(s.Client.BaseURL(), "/")+"/v1/sprites", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw create: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		s.rawDeleteAtEnd(t, name)
		return resp.StatusCode, nil
	}
	return resp.StatusCode, sprites.DecodeError("raw create", resp)
}

// rawDeleteAtEnd deletes a sprite without the client, whose name
// validation would refuse a name the server should not have taken.
func (s *suite) rawDeleteAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		u := strings.TrimRight(s.Client.BaseURL(), "/") + "/v1/sprites/" + url.PathEscape(name)
		req, err := http.NewRequest(http.MethodDelete, u, nil)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("cleanup: deleting %s: %v", name, err)
			return
		}
		resp.Body.Close()
	})
}
