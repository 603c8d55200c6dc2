package localsprites

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestProxy_ReusesConnectionsToTheSprite sends requests through a sprite's
// URL to a server on the sprite's port and counts the connections that
// server sees. A transport per request would leave one idle keep-alive
// connection (and its goroutines) behind for every request, for ever.
func TestProxy_ReusesConnectionsToTheSprite(t *testing.T) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the API token reached the sprite")
		}
		_, _ = w.Write([]byte("ok"))
	}))
	backend.Config.ConnState = func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
	}
	backend.Start()
	t.Cleanup(backend.Close)
	port := backend.Listener.Addr().(*net.TCPAddr).Port

	ts := start(t, Config{})
	sp := ts.create("px")
	ts.srv.mu.Lock()
	s := ts.srv.sprites["px"]
	ts.srv.mu.Unlock()
	s.mu.Lock()
	s.meta.Port = port
	s.mu.Unlock()

	const requests = 10
	for range requests {
		if code, body := ts.proxyGet(t, sp.URL+"x", "", testToken); code != http.StatusOK || body != "ok" {
			t.Fatalf("proxy: %d %q", code, body)
		}
	}
	mu.Lock()
	n := len(open)
	mu.Unlock()
	if n > 1 {
		t.Fatalf("%d connections to the sprite stay open after %d sequential requests, want at most 1", n, requests)
	}
}

// TestProxy_OpenRequestDoesNotBlockDelete keeps a request to the sprite's
// URL open (a long poll, a WebSocket) and deletes the sprite meanwhile:
// the delete must not wait for the sprite's visitors to leave.
func TestProxy_OpenRequestDoesNotBlockDelete(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(backend.Close)
	t.Cleanup(func() { close(release) }) // runs before backend.Close

	ts := start(t, Config{})
	sp := ts.create("lp")
	ts.srv.mu.Lock()
	s := ts.srv.sprites["lp"]
	ts.srv.mu.Unlock()
	s.mu.Lock()
	s.meta.Port = backend.Listener.Addr().(*net.TCPAddr).Port
	s.mu.Unlock()

	req, err := http.NewRequest("GET", sp.URL+"poll", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	del, err := http.NewRequestWithContext(ctx, "DELETE", ts.url("/v1/sprites/lp", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Header.Set("Authorization", "Bearer "+testToken)
	dresp, err := http.DefaultClient.Do(del)
	if err != nil {
		t.Fatalf("delete while a proxied request is open: %v", err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete answered %d", dresp.StatusCode)
	}
}
