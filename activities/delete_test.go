package activities

import (
	"net/http"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestDeleteSprite_Outcomes(t *testing.T) {
	const name = "ss-abc-main"
	for _, tc := range []struct {
		name    string
		exists  bool             // the sprite exists before the call
		setup   func(f *fakeAPI) // canned answers
		check   func(*testing.T, *fakeAPI)
		want    *DeleteSpriteOutput // nil: an error is wanted
		errType string
		// wantDelay is the NextRetryDelay the error must carry.
		wantDelay time.Duration
	}{
		{name: "204 confirmed by get", exists: true, want: &DeleteSpriteOutput{Existed: true},
			check: func(t *testing.T, f *fakeAPI) {
				if f.count("GET /v1/sprites/"+name) != 1 {
					t.Error("a 204 was not confirmed by a get")
				}
			}},
		{name: "404 is success", want: &DeleteSpriteOutput{Existed: false},
			check: func(t *testing.T, f *fakeAPI) {
				if n := f.count("GET /v1/sprites/" + name); n != 0 {
					t.Errorf("%d gets after a 404", n)
				}
			}},
		{name: "500 failed-to-delete confirmed gone by get 404", want: &DeleteSpriteOutput{Existed: false},
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusInternalServerError, `{"error":"failed to delete sprite"}`)
			}},
		{name: "500s for a missing sprite confirmed by listing", want: &DeleteSpriteOutput{Existed: false},
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusInternalServerError, `{"error":"failed to delete sprite"}`)
				f.queue("GET /v1/sprites/"+name, http.StatusInternalServerError, `{"error":"failed to retrieve sprite"}`)
			},
			check: func(t *testing.T, f *fakeAPI) {
				if f.count("GET /v1/sprites") != 1 {
					t.Error("an ambiguous 500 on get was not settled by listing")
				}
			}},
		{name: "500 while the sprite is still there retries", exists: true, errType: ErrTypeUnavailable,
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusInternalServerError, `{"error":"failed to delete sprite"}`)
			}},
		{name: "500 failed-to-delete and get 500 but listed retries", exists: true, errType: ErrTypeUnavailable,
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusInternalServerError, `{"error":"failed to delete sprite"}`)
				f.queue("GET /v1/sprites/"+name, http.StatusInternalServerError, `{"error":"failed to retrieve sprite"}`)
			}},
		{name: "204 but still there retries", exists: true, errType: ErrTypeUnavailable,
			setup: func(f *fakeAPI) {
				f.queueReply("DELETE /v1/sprites/"+name, cannedReply{status: http.StatusNoContent})
			}},
		{name: "503 then confirm failing retries", exists: true, errType: ErrTypeUnavailable,
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusServiceUnavailable, `{"error":"busy"}`)
				f.queue("GET /v1/sprites/"+name, http.StatusBadGateway, `bad gateway`)
			}},
		{name: "429 waits the server's retry_after_seconds", exists: true, errType: ErrTypeRateLimited, wantDelay: 9 * time.Second,
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusTooManyRequests, `{"error":"slow down","retry_after_seconds":9}`)
			},
			check: func(t *testing.T, f *fakeAPI) {
				if n := f.count("GET /v1/sprites/" + name); n != 0 {
					t.Errorf("%d gets after a refused delete: they add to the rate limit", n)
				}
			}},
		{name: "401 is not retried", exists: true, errType: ErrTypeUnauthorized,
			setup: func(f *fakeAPI) {
				f.queue("DELETE /v1/sprites/"+name, http.StatusUnauthorized, `{"error":"unauthorized"}`)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			if tc.exists {
				f.addSprite(sprites.Sprite{Name: name, Labels: ownerLabels})
			}
			// A neighbour sharing the prefix must not pass for the sprite.
			f.addSprite(sprites.Sprite{Name: name + "-2"})
			if tc.setup != nil {
				tc.setup(f)
			}
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			val, err := env.ExecuteActivity(acts.DeleteSprite, DeleteSpriteInput{ProviderName: name})
			if tc.want == nil {
				retryable := tc.errType == ErrTypeUnavailable || tc.errType == ErrTypeRateLimited
				if got := appError(t, err, tc.errType, retryable).NextRetryDelay(); got != tc.wantDelay {
					t.Errorf("NextRetryDelay = %v, want %v", got, tc.wantDelay)
				}
			} else {
				if err != nil {
					t.Fatalf("DeleteSprite: %v", err)
				}
				var out DeleteSpriteOutput
				if err := val.Get(&out); err != nil {
					t.Fatal(err)
				}
				if out != *tc.want {
					t.Errorf("output = %+v, want %+v", out, *tc.want)
				}
				if f.hasSprite(name) {
					t.Error("DeleteSprite succeeded but the sprite exists")
				}
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}
