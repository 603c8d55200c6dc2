package sprites

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestCreateSprite_SendsTheRequestAndDecodesTheRecordedAnswer(t *testing.T) {
	c, mux := newMuxClient(t)
	var got map[string]any
	mux.HandleFunc("POST /v1/sprites", func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decoding body: %v", err)
		}
		writeRaw(w, http.StatusCreated, "application/json", recordedSprite)
	})
	s, err := c.CreateSprite(context.Background(), CreateRequest{
		Name: "box", WaitForCapacity: true, URLSettings: &URLSettings{Auth: AuthSprite}, Labels: []string{"team-a"},
	})
	if err != nil {
		t.Fatalf("CreateSprite: %v", err)
	}
	want := map[string]any{
		"name": "box", "wait_for_capacity": true,
		"url_settings": map[string]any{"auth": "sprite"}, "labels": []any{"team-a"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request body = %v, want %v", got, want)
	}
	if s.Name != "box" || s.Status != StatusCold || s.URL != "https://box-j34t.sprites.app" || s.CreatedAt.IsZero() {
		t.Errorf("sprite = %+v", s)
	}
}

func TestCreateSprite_DuplicateNameIsConflict(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, http.StatusConflict, "application/json",
			`{"error":"A sprite named 'box' already exists. Please choose a different name."}`)
	})
	_, err := c.CreateSprite(context.Background(), CreateRequest{Name: "box"})
	if !IsConflict(err) || IsNotFound(err) {
		t.Fatalf("err = %v, want ErrConflict only", err)
	}
}

func TestCreateSprite_RateLimitCarriesRetryAfter(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		writeRaw(w, http.StatusTooManyRequests, "application/json",
			`{"error":"sprite_creation_rate_limited","message":"Rate limit exceeded","limit":10,"window_seconds":60,"retry_after_seconds":42,"current_count":10}`)
	})
	_, err := c.CreateSprite(context.Background(), CreateRequest{Name: "box"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !IsRateLimited(err) {
		t.Fatalf("err = %v, want a rate-limit *APIError", err)
	}
	if apiErr.RetryAfter.Seconds() != 42 || apiErr.Body.Limit != 10 || !IsRetryable(err) {
		t.Errorf("RetryAfter = %v, Limit = %d, retryable = %v", apiErr.RetryAfter, apiErr.Body.Limit, IsRetryable(err))
	}
}

func TestGetSprite_MissingIsNotFound(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"as recorded: 500", 500, `{"error":"failed to retrieve sprite"}`},
		{"as documented: 404", 404, `{"error":"sprite not found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("GET /v1/sprites/{name}", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, tt.status, "application/json", tt.body)
			})
			_, err := c.GetSprite(context.Background(), "gone")
			if !errors.Is(err, ErrNotFound) || IsRetryable(err) {
				t.Fatalf("err = %v: want ErrNotFound, not retryable", err)
			}
		})
	}
}

func TestGetSprite_DecodesTheRecordedAnswer(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "box" {
			t.Errorf("name = %q", r.PathValue("name"))
		}
		writeRaw(w, 200, "application/json", recordedSprite)
	})
	s, err := c.GetSprite(context.Background(), "box")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "sprite-0b6e5a8c-6f7d-4e4f-9a57-3c3f4b0c2d11" || s.URLSettings == nil || s.URLSettings.Auth != AuthSprite ||
		!reflect.DeepEqual(s.Labels, []string{"team-a"}) || s.Version != nil || s.LastRunningAt != nil {
		t.Errorf("sprite = %+v", s)
	}
}

func TestDeleteSprite_AcceptsBothSuccessCodesAndMapsMissing(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		notFound bool
		wantErr  bool
	}{
		{"204", 204, "", false, false},
		{"200", 200, "", false, false},
		{"missing as recorded: 500", 500, `{"error":"failed to delete sprite"}`, true, true},
		{"missing as documented: 404", 404, `{"error":"sprite not found"}`, true, true},
		{"server error", 503, `{"error":"sprite_starting","retry_after_seconds":2}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.HandleFunc("DELETE /v1/sprites/{name}", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, tt.status, "application/json", tt.body)
			})
			err := c.DeleteSprite(context.Background(), "box")
			if (err != nil) != tt.wantErr || IsNotFound(err) != tt.notFound {
				t.Fatalf("err = %v, want error %v, not found %v", err, tt.wantErr, tt.notFound)
			}
		})
	}
}

func TestUpdateSprite_SendsOnlyTheChangedFields(t *testing.T) {
	c, mux := newMuxClient(t)
	var got map[string]any
	mux.HandleFunc("PUT /v1/sprites/{name}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		writeRaw(w, 200, "application/json", recordedSprite)
	})
	labels := []string{"x", "y"}
	if _, err := c.UpdateSprite(context.Background(), "box", UpdateRequest{
		URLSettings: &URLSettings{Auth: AuthPublic}, Labels: &labels,
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"url_settings": map[string]any{"auth": "public"}, "labels": []any{"x", "y"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %v, want %v", got, want)
	}
}

func TestUpdateSprite_InvalidAuthIsInvalid(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("PUT /v1/sprites/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 400, "application/json", `{"errors":["invalid auth type, must be one of: sprite, public"]}`)
	})
	_, err := c.UpdateSprite(context.Background(), "box", UpdateRequest{URLSettings: &URLSettings{Auth: "nobody"}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestListSprites_SendsFiltersAndDecodesBothStatShapes(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("GET /v1/sprites", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("prefix") != "ss-" || q.Get("max_results") != "2" || q.Get("continuation_token") != "tok" {
			t.Errorf("query = %v", q)
		}
		writeRaw(w, 200, "application/json", `{"sprites":[`+recordedSprite+`],"has_more":false,"next_continuation_token":null,`+
			`"org":{"name":"acme","running":1,"warm":2,"cold":3,"running_limit":3,"warm_limit":10},"running":1,"warm":2,"cold":3}`)
	})
	p, err := c.ListSprites(context.Background(), ListOptions{Prefix: "ss-", MaxResults: 2, ContinuationToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sprites) != 1 || p.NextToken() != "" || p.Org == nil || p.Org.RunningLimit != 3 || p.Cold == nil || *p.Cold != 3 {
		t.Errorf("page = %+v", p)
	}
}

func TestAllSprites_StopsOnNullTokenEvenWhenHasMore(t *testing.T) {
	c, mux := newMuxClient(t)
	calls := 0
	mux.HandleFunc("GET /v1/sprites", func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch r.URL.Query().Get("continuation_token") {
		case "":
			writeRaw(w, 200, "application/json",
				`{"sprites":[{"name":"a"},{"name":"b"}],"has_more":true,"next_continuation_token":"p2"}`)
		case "p2":
			writeRaw(w, 200, "application/json",
				`{"sprites":[{"name":"c"}],"has_more":true,"next_continuation_token":"p3"}`)
		case "p3":
			// As recorded: an empty page that still says has_more.
			writeRaw(w, 200, "application/json", `{"sprites":[],"has_more":true,"next_continuation_token":null}`)
		default:
			t.Errorf("unexpected token %q", r.URL.Query().Get("continuation_token"))
			writeRaw(w, 500, "application/json", `{"error":"bad token"}`)
		}
	})
	var names []string
	for s, err := range c.AllSprites(context.Background(), ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) || calls != 3 {
		t.Errorf("names = %v after %d calls, want [a b c] after 3", names, calls)
	}
}

func TestAllSprites_StopsOnEmptyTokenAndOnBreak(t *testing.T) {
	c, mux := newMuxClient(t)
	calls := 0
	mux.HandleFunc("GET /v1/sprites", func(w http.ResponseWriter, r *http.Request) {
		calls++
		writeRaw(w, 200, "application/json", `{"sprites":[{"name":"a"},{"name":"b"}],"has_more":true,"next_continuation_token":""}`)
	})
	n := 0
	for range c.AllSprites(context.Background(), ListOptions{}) {
		n++
	}
	if n != 2 || calls != 1 {
		t.Errorf("got %d sprites in %d calls, want 2 in 1", n, calls)
	}
	for range c.AllSprites(context.Background(), ListOptions{}) {
		break
	}
	if calls != 2 {
		t.Errorf("calls = %d after a break on the first sprite, want 2", calls)
	}
}

func TestAllSprites_YieldsTheErrorAndStops(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"401", func(w http.ResponseWriter, r *http.Request) {
			writeRaw(w, 401, "application/json", `{"error":"authentication failed"}`)
		}},
		{"repeated token", func(w http.ResponseWriter, r *http.Request) {
			writeRaw(w, 200, "application/json", `{"sprites":[{"name":"a"}],"has_more":true,"next_continuation_token":"same"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newMuxClient(t)
			mux.Handle("GET /v1/sprites", tt.handler)
			errs := 0
			for _, err := range c.AllSprites(context.Background(), ListOptions{}) {
				if err != nil {
					errs++
				}
			}
			if errs != 1 {
				t.Errorf("saw %d errors, want 1", errs)
			}
		})
	}
}
