package localsprites

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestAuth_RefusesMissingOrWrongToken(t *testing.T) {
	ts := start(t, Config{})
	for _, tc := range []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"wrong token", "Bearer nope"},
		{"wrong scheme", "Basic " + testToken},
		{"token without scheme", testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.url("/v1/sprites", nil), nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(string(raw)) != `{"error":"authentication failed"}` {
				t.Fatalf("got %d %s", resp.StatusCode, raw)
			}
			if v := resp.Header.Get("Sprite-Version"); v != SpriteVersion {
				t.Fatalf("Sprite-Version %q", v)
			}
		})
	}
}

func TestSprites_CreateGetUpdateDelete(t *testing.T) {
	ts := start(t, Config{})
	var created sprites.Sprite
	ts.call("POST", "/v1/sprites", nil, sprites.CreateRequest{Name: "web-1", Labels: []string{"owner:s1"}}, http.StatusCreated, &created)
	if created.Status != sprites.StatusCold || created.Name != "web-1" || !strings.HasPrefix(created.ID, "sprite-") {
		t.Fatalf("created %+v", created)
	}
	if created.URL != ts.srv.URL()+"/proxy/web-1/" || created.URLSettings.Auth != sprites.AuthSprite {
		t.Fatalf("url %q settings %+v", created.URL, created.URLSettings)
	}

	var got sprites.Sprite
	ts.call("GET", "/v1/sprites/web-1", nil, nil, http.StatusOK, &got)
	if got.ID != created.ID || !slices.Equal(got.Labels, []string{"owner:s1"}) {
		t.Fatalf("got %+v", got)
	}

	labels := []string{"a", "b"}
	var updated sprites.Sprite
	ts.call("PUT", "/v1/sprites/web-1", nil, sprites.UpdateRequest{Labels: &labels, URLSettings: &sprites.URLSettings{Auth: "public"}}, http.StatusOK, &updated)
	if !slices.Equal(updated.Labels, labels) || updated.URLSettings.Auth != "public" {
		t.Fatalf("updated %+v", updated)
	}
	ts.call("PUT", "/v1/sprites/web-1", nil, map[string]any{"url_settings": map[string]string{"auth": "nobody"}}, http.StatusBadRequest, nil)

	ts.call("DELETE", "/v1/sprites/web-1", nil, nil, http.StatusNoContent, nil)
	ts.call("GET", "/v1/sprites/web-1", nil, nil, http.StatusNotFound, nil)
	// The name is free again at once.
	ts.create("web-1")
}

func TestSprites_CreateDuplicateIs409(t *testing.T) {
	ts := start(t, Config{})
	ts.create("dup")
	var body sprites.ErrorBody
	ts.call("POST", "/v1/sprites", nil, sprites.CreateRequest{Name: "dup"}, http.StatusConflict, &body)
	if !strings.Contains(body.Error, "already exists") {
		t.Fatalf("body %+v", body)
	}
}

func TestSprites_CreateRefusesInvalidNames(t *testing.T) {
	ts := start(t, Config{})
	for _, name := range []string{"", "Upper", "-lead", "trail-", "under_score", "dot.ted", "sp ace", strings.Repeat("a", 64), "é"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			var body sprites.ErrorBody
			ts.call("POST", "/v1/sprites", nil, sprites.CreateRequest{Name: name}, http.StatusBadRequest, &body)
			if len(body.Errors) != 1 || body.Errors[0] != "invalid sprite name format" {
				t.Fatalf("body %+v", body)
			}
		})
	}
	ts.call("POST", "/v1/sprites", nil, "{not json", http.StatusBadRequest, nil)
	ts.create(strings.Repeat("a", 63))
	ts.create("0-9")
}

func TestSprites_MissingSpriteIs404OrQuirk500(t *testing.T) {
	for _, tc := range []struct {
		quirk              bool
		getStatus, delStat int
		getMsg, delMsg     string
	}{
		{false, 404, 404, "sprite not found", "sprite not found"},
		{true, 500, 500, "failed to retrieve sprite", "failed to delete sprite"},
	} {
		t.Run(fmt.Sprintf("quirk=%v", tc.quirk), func(t *testing.T) {
			ts := start(t, Config{Quirks: Quirks{MissingSprite500: tc.quirk}})
			var body sprites.ErrorBody
			ts.call("GET", "/v1/sprites/ghost", nil, nil, tc.getStatus, &body)
			if body.Error != tc.getMsg {
				t.Fatalf("get: %+v", body)
			}
			ts.call("DELETE", "/v1/sprites/ghost", nil, nil, tc.delStat, &body)
			if body.Error != tc.delMsg {
				t.Fatalf("delete: %+v", body)
			}
			// Checkpoint endpoints answer 404 in both modes, as recorded.
			ts.call("POST", "/v1/sprites/ghost/checkpoint", nil, nil, http.StatusNotFound, nil)
			// And the client library reads every one of them as not found.
			resp := ts.do("GET", "/v1/sprites/ghost", nil, nil)
			if err := sprites.DecodeError("get", resp); !errors.Is(err, sprites.ErrNotFound) {
				t.Fatalf("DecodeError: %v is not ErrNotFound", err)
			}
		})
	}
}

func TestSprites_ListPagesWithOpaqueTokensAndPrefix(t *testing.T) {
	ts := start(t, Config{})
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("pg-%02d", i)
		ts.create(name)
		want = append(want, name)
	}
	ts.create("other")

	var got []string
	token := ""
	pages := 0
	for {
		q := url.Values{"prefix": {"pg-"}, "max_results": {"3"}}
		if token != "" {
			q.Set("continuation_token", token)
		}
		var page sprites.ListPage
		ts.call("GET", "/v1/sprites", q, nil, http.StatusOK, &page)
		pages++
		for _, sp := range page.Sprites {
			got = append(got, sp.Name)
		}
		if page.NextToken() == "" {
			if page.HasMore {
				t.Fatal("has_more without a token")
			}
			break
		}
		if strings.Contains(page.NextToken(), "pg-") {
			t.Fatalf("token %q is not opaque", page.NextToken())
		}
		token = page.NextToken()
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("got %v in %d pages, want %v in 3", got, pages, want)
	}
	ts.call("GET", "/v1/sprites", url.Values{"continuation_token": {"garbage!"}}, nil, http.StatusBadRequest, nil)
}

func TestSprites_ListClampsMaxResultsTo50(t *testing.T) {
	ts := start(t, Config{})
	for i := range 53 {
		ts.create(fmt.Sprintf("s%02d", i))
	}
	var page sprites.ListPage
	ts.call("GET", "/v1/sprites", url.Values{"max_results": {"100"}}, nil, http.StatusOK, &page)
	if len(page.Sprites) != 50 || !page.HasMore || page.NextToken() == "" {
		t.Fatalf("got %d sprites, has_more %v", len(page.Sprites), page.HasMore)
	}
	if page.Org == nil || page.Org.Cold != 50 {
		t.Fatalf("org stats %+v", page.Org)
	}
}

func TestSprites_StatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ts := start(t, Config{StateDir: dir})
	labels := []string{"keep"}
	ts.create("keeper")
	ts.call("PUT", "/v1/sprites/keeper", nil, sprites.UpdateRequest{Labels: &labels}, http.StatusOK, nil)
	ts.writeFile("keeper", "notes/a.txt", "persisted")
	if _, err := ts.stream("POST", "/v1/sprites/keeper/checkpoint", nil, sprites.CheckpointRequest{Comment: "c1"}); err != nil {
		t.Fatal(err)
	}
	ts.writeFile("keeper", "notes/a.txt", "changed")
	ts.sh("keeper", "true") // wake it: it must come back cold anyway
	if err := ts.srv.Close(); err != nil {
		t.Fatal(err)
	}

	ts2 := start(t, Config{StateDir: dir})
	var got sprites.Sprite
	ts2.call("GET", "/v1/sprites/keeper", nil, nil, http.StatusOK, &got)
	if got.Status != sprites.StatusCold || !slices.Equal(got.Labels, labels) {
		t.Fatalf("after restart: %+v", got)
	}
	if s, _ := ts2.readFile("keeper", "notes/a.txt"); s != "changed" {
		t.Fatalf("file after restart: %q", s)
	}
	var cps []sprites.Checkpoint
	ts2.call("GET", "/v1/sprites/keeper/checkpoints", nil, nil, http.StatusOK, &cps)
	if len(cps) != 3 || cps[1].ID != "v1" || cps[1].Comment != "c1" {
		t.Fatalf("checkpoints after restart: %+v", cps)
	}
	if _, err := ts2.stream("POST", "/v1/sprites/keeper/checkpoints/v1/restore", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s, _ := ts2.readFile("keeper", "notes/a.txt"); s != "persisted" {
		t.Fatalf("file after restore: %q", s)
	}
	// The next checkpoint number continues.
	events, err := ts2.stream("POST", "/v1/sprites/keeper/checkpoint", nil, nil)
	if err != nil || events[len(events)-1].Data != "Checkpoint v2 created successfully" {
		t.Fatalf("checkpoint after restart: %v %+v", err, events)
	}
}

func TestServer_MiscEndpoints(t *testing.T) {
	ts := start(t, Config{})
	ts.create("misc")
	ts.call("GET", "/v1/sprites/misc/control", nil, nil, http.StatusNotFound, nil)
	resp := ts.do("HEAD", "/v1/sprites/misc/exec", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Sprite-Version") != SpriteVersion {
		t.Fatalf("HEAD exec: %d %q", resp.StatusCode, resp.Header.Get("Sprite-Version"))
	}
}

// A restore that died between its two renames (the path without an atomic
// exchange) left the home moved away and a copy half made: the next start
// puts the home back and removes the rest.
func TestSprites_RestartRecoversFromARestoreThatDiedHalfWay(t *testing.T) {
	dir := t.TempDir()
	ts := start(t, Config{StateDir: dir})
	ts.create("torn")
	ts.writeFile("torn", "notes/a.txt", "before the restore")
	if err := ts.srv.Close(); err != nil {
		t.Fatal(err)
	}
	spriteDir := filepath.Join(dir, "sprites", "torn")
	if err := os.Rename(filepath.Join(spriteDir, "home"), filepath.Join(spriteDir, "home.old-0a1b2c3d")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(spriteDir, "home.restore-4e5f6a7b", "notes"), 0o755); err != nil {
		t.Fatal(err)
	}

	ts2 := start(t, Config{StateDir: dir})
	if s, _ := ts2.readFile("torn", "notes/a.txt"); s != "before the restore" {
		t.Fatalf("file after the restart = %q, want the files from before the restore", s)
	}
	if left, _ := filepath.Glob(filepath.Join(spriteDir, "home.*")); len(left) != 0 {
		t.Errorf("leftovers after the restart: %v", left)
	}
}
