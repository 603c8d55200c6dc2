package activities

import (
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestServiceURL_ReportsURLPublicAndSortedServices(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-web", Status: sprites.StatusRunning, URL: "https://ss-abc-web.sprites.test",
		URLSettings: &sprites.URLSettings{Auth: sprites.AuthPublic}})
	f.addSprite(sprites.Sprite{Name: "ss-abc-priv", URL: "https://ss-abc-priv.sprites.test",
		URLSettings: &sprites.URLSettings{Auth: sprites.AuthSprite}})
	f.services["ss-abc-web"] = []sprites.ServiceWithState{{Name: "web"}, {Name: "api"}}
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)

	val, err := env.ExecuteActivity(acts.ServiceURL, ServiceURLInput{ProviderName: "ss-abc-web"})
	if err != nil {
		t.Fatalf("ServiceURL: %v", err)
	}
	var out ServiceURLOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != sprites.StatusRunning || out.URL != "https://ss-abc-web.sprites.test" || !out.Public ||
		len(out.Services) != 2 || out.Services[0] != "api" || out.Services[1] != "web" {
		t.Errorf("output = %+v", out)
	}

	val, err = env.ExecuteActivity(acts.ServiceURL, ServiceURLInput{ProviderName: "ss-abc-priv"})
	if err != nil {
		t.Fatalf("ServiceURL: %v", err)
	}
	out = ServiceURLOutput{}
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if out.Public || len(out.Services) != 0 {
		t.Errorf("private sprite output = %+v", out)
	}
}

func TestServiceURL_MissingSpriteIsNotFound(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.ServiceURL, ServiceURLInput{ProviderName: "ss-gone"})
	appError(t, err, ErrTypeNotFound, false)
}
