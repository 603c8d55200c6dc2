package activities

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

var ownerLabels = []string{"sprite-sessions", "owner=session-abc"}

func TestCreateSprite_SendsLabelsURLAuthAndConfig(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)

	val, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{
		ProviderName: "ss-abc-main", Labels: ownerLabels, PublicURL: true, CPUs: 2, MemoryMB: 1024,
	})
	if err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	var out CreateSpriteOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if out.Existed || out.Status != sprites.StatusCold || out.URL == "" || out.CreatedAt.IsZero() {
		t.Errorf("output = %+v, want a new cold sprite with URL and creation time", out)
	}
	var req sprites.CreateRequest
	if err := json.Unmarshal(f.body("POST /v1/sprites"), &req); err != nil {
		t.Fatal(err)
	}
	if req.Name != "ss-abc-main" || len(req.Labels) != 2 || req.Labels[1] != "owner=session-abc" {
		t.Errorf("request name/labels = %q %q", req.Name, req.Labels)
	}
	if req.URLSettings == nil || req.URLSettings.Auth != sprites.AuthPublic {
		t.Errorf("url_settings = %+v, want auth public", req.URLSettings)
	}
	if req.Config == nil || req.Config.CPUs != 2 || req.Config.RAMMB != 1024 {
		t.Errorf("config = %+v, want 2 CPUs and 1024 MB", req.Config)
	}
}

func TestCreateSprite_PrivateURLByDefault(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	if _, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-main", Labels: ownerLabels}); err != nil {
		t.Fatal(err)
	}
	var req sprites.CreateRequest
	if err := json.Unmarshal(f.body("POST /v1/sprites"), &req); err != nil {
		t.Fatal(err)
	}
	if req.URLSettings == nil || req.URLSettings.Auth != sprites.AuthSprite || req.Config != nil {
		t.Errorf("url_settings = %+v config = %+v, want auth sprite and no config", req.URLSettings, req.Config)
	}
}

func TestCreateSprite_ConflictWithOurLabelsIsSuccess(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-main", Labels: append([]string{"extra"}, ownerLabels...), URL: "https://x.test"})
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)

	val, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-main", Labels: ownerLabels})
	if err != nil {
		t.Fatalf("CreateSprite after 409 with our labels: %v", err)
	}
	var out CreateSpriteOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if !out.Existed || out.URL != "https://x.test" {
		t.Errorf("output = %+v, want Existed with the existing sprite's URL", out)
	}
}

func TestCreateSprite_ConflictWithForeignSpriteIsNonRetryableConflict(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-main", Labels: []string{"sprite-sessions", "owner=someone-else"}})
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)

	_, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-main", Labels: ownerLabels})
	appError(t, err, ErrTypeConflict, false)
}

func TestCreateSprite_GetFailingAfterConflictStaysRetryable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantType string
	}{
		{"503", http.StatusServiceUnavailable, `{"error":"sprite_starting","retry_after_seconds":1}`, ErrTypeUnavailable},
		{"429", http.StatusTooManyRequests, `{"error":"slow down","retry_after_seconds":3}`, ErrTypeRateLimited},
		{"vanished", 0, "", ErrTypeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.queue("POST /v1/sprites", http.StatusConflict, `{"error":"sprite with this name already exists"}`)
			if tc.status != 0 {
				f.addSprite(sprites.Sprite{Name: "ss-abc-main", Labels: ownerLabels})
				f.queue("GET /v1/sprites/ss-abc-main", tc.status, tc.body)
			}
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			_, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-main", Labels: ownerLabels})
			appError(t, err, tc.wantType, true)
		})
	}
}

func TestCreateSprite_ClassifiesErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        int
		body          string
		wantType      string
		wantRetryable bool
		wantDelay     time.Duration
	}{
		{"429 waits retry_after_seconds", http.StatusTooManyRequests,
			`{"error":"sprite_creation_rate_limited","message":"too many","limit":10,"window_seconds":60,"retry_after_seconds":7}`,
			ErrTypeRateLimited, true, 7 * time.Second},
		{"429 without a wait", http.StatusTooManyRequests, `{"error":"concurrent_sprite_limit_exceeded"}`, ErrTypeRateLimited, true, 0},
		{"408 retries", http.StatusRequestTimeout, `{"error":"timeout"}`, ErrTypeUnavailable, true, 0},
		{"500 retries", http.StatusInternalServerError, `{"error":"internal error"}`, ErrTypeUnavailable, true, 0},
		{"502 plain text retries", http.StatusBadGateway, `bad gateway`, ErrTypeUnavailable, true, 0},
		{"400 is invalid", http.StatusBadRequest, `{"errors":["invalid sprite name format"]}`, ErrTypeInvalidArgument, false, 0},
		{"422 is invalid", http.StatusUnprocessableEntity, `{"error":"bad config"}`, ErrTypeInvalidArgument, false, 0},
		{"401 is unauthorized", http.StatusUnauthorized, `{"error":"bad token ` + testToken + `"}`, ErrTypeUnauthorized, false, 0},
		{"403 is unauthorized", http.StatusForbidden, `{"error":"forbidden"}`, ErrTypeUnauthorized, false, 0},
		{"404 is not found", http.StatusNotFound, `{"error":"org not found"}`, ErrTypeNotFound, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.queue("POST /v1/sprites", tc.status, tc.body)
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			_, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-main", Labels: ownerLabels})
			appErr := appError(t, err, tc.wantType, tc.wantRetryable)
			if got := appErr.NextRetryDelay(); got != tc.wantDelay {
				t.Errorf("NextRetryDelay = %v, want %v", got, tc.wantDelay)
			}
		})
	}
}

func TestCreateSprite_InvalidNameIsRejectedBeforeSending(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "Bad_Name", Labels: ownerLabels})
	appError(t, err, ErrTypeInvalidArgument, false)
	if n := f.count("POST /v1/sprites"); n != 0 {
		t.Errorf("%d create requests sent for an invalid name", n)
	}
}

func TestCreateSprite_NetworkErrorIsRetryable(t *testing.T) {
	f := newFakeAPI(t)
	client := f.client()
	f.srv.Close() // nothing listens any more
	acts := New(client, Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-main", Labels: ownerLabels})
	appError(t, err, ErrTypeUnavailable, true)
}

func TestCreateSprite_OverTheWorkersCreateCapWaitsWithoutSending(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{CreatesPerMinute: 2})
	env := newActivityEnv(t, acts)
	for _, name := range []string{"ss-abc-one", "ss-abc-two"} {
		if _, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: name, Labels: ownerLabels}); err != nil {
			t.Fatalf("create %s within the burst: %v", name, err)
		}
	}
	_, err := env.ExecuteActivity(acts.CreateSprite, CreateSpriteInput{ProviderName: "ss-abc-three", Labels: ownerLabels})
	appErr := appError(t, err, ErrTypeRateLimited, true)
	// Two a minute: the next token comes within 30 s.
	if d := appErr.NextRetryDelay(); d <= 0 || d > 30*time.Second {
		t.Errorf("NextRetryDelay = %v, want (0, 30s]", d)
	}
	if n := f.count("POST /v1/sprites"); n != 2 {
		t.Errorf("%d creates sent, want 2: the capped one must not reach the API", n)
	}
}
