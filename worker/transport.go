package worker

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// Domain metrics measured at the Sprites API boundary (names before the
// handler adds _total or _seconds). They count real HTTP calls made by this
// process, so workflow replay cannot double them.
const (
	// MetricAPIRequests counts Sprites API calls by method, route and
	// status ("error" when no answer came).
	MetricAPIRequests = "sprite_sessions_sprites_api_requests"
	// MetricAPILatency is the time from request to the end of the answer's
	// body (to the response headers for a WebSocket upgrade).
	MetricAPILatency = "sprite_sessions_sprites_api_request_duration"
	// MetricSpritesCreated counts sprites this process created (201).
	MetricSpritesCreated = "sprite_sessions_sprites_created"
	// MetricSpritesDeleted counts sprites this process deleted (2xx).
	MetricSpritesDeleted = "sprite_sessions_sprites_deleted"
	// MetricSpritesLive is created minus deleted as this process saw them
	// since it started. A sprite created by one worker and deleted by
	// another counts +1 in one and -1 in the other, and a restart forgets
	// both, so it is a per-process trend, not a fleet count.
	MetricSpritesLive = "sprite_sessions_sprites_live"
)

// InstrumentTransport wraps base (nil means http.DefaultTransport) so that
// every Sprites API call is counted and timed on h. Labels are the method, a
// normalised route (sprite names, IDs and queries replaced by
// placeholders) and the status: never a URL, header or token.
func InstrumentTransport(base http.RoundTripper, h client.MetricsHandler) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &apiTransport{base: base, h: h}
	h.Gauge(MetricSpritesLive).Update(0)
	return t
}

type apiTransport struct {
	base http.RoundTripper
	h    client.MetricsHandler
	live atomic.Int64
}

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	route := normaliseRoute(req.URL.Path)
	resp, err := t.base.RoundTrip(req)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	h := t.h.WithTags(map[string]string{"method": req.Method, "route": route, "status": status})
	h.Counter(MetricAPIRequests).Inc(1)
	if err == nil {
		t.countLifecycle(req.Method, route, resp.StatusCode)
	}
	if err != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		// A WebSocket's body is the connection itself: it must stay as it is.
		h.Timer(MetricAPILatency).Record(time.Since(start))
		return resp, err
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { h.Timer(MetricAPILatency).Record(time.Since(start)) }}
	return resp, nil
}

func (t *apiTransport) countLifecycle(method, route string, status int) {
	ok := status >= 200 && status < 300
	switch {
	case ok && method == http.MethodPost && route == "/v1/sprites":
		t.h.Counter(MetricSpritesCreated).Inc(1)
		t.h.Gauge(MetricSpritesLive).Update(float64(t.live.Add(1)))
	case ok && method == http.MethodDelete && route == "/v1/sprites/{name}":
		t.h.Counter(MetricSpritesDeleted).Inc(1)
		t.h.Gauge(MetricSpritesLive).Update(float64(t.live.Add(-1)))
	}
}

// timedBody reports once when the body is read to its end or closed.
type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *timedBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

// routeWords are the fixed path elements of the Sprites API; any other
// element is an identifier and becomes a placeholder.
var routeWords = map[string]bool{
	"checkpoint": true, "checkpoints": true, "restore": true, "exec": true, "kill": true,
	"fs": true, "read": true, "write": true, "list": true, "delete": true, "rename": true, "copy": true, "chmod": true,
	"services": true, "start": true, "stop": true, "logs": true, "policy": true, "network": true,
	"signal": true, "upgrade": true, "check": true, "proxy": true, "ports": true, "watch": true,
}

// normaliseRoute turns a request path into a bounded set of route
// templates: /v1/sprites/{name}/checkpoints/{id}/restore and so on.
func normaliseRoute(path string) string {
	rest, ok := strings.CutPrefix(path, "/v1/sprites")
	if !ok {
		return "other"
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return "/v1/sprites"
	}
	parts := strings.Split(rest, "/")
	if len(parts) > 6 {
		return "other"
	}
	var b strings.Builder
	b.WriteString("/v1/sprites/{name}")
	prev := ""
	for _, p := range parts[1:] {
		b.WriteByte('/')
		if routeWords[p] {
			b.WriteString(p)
		} else {
			b.WriteString(placeholder(prev))
		}
		prev = p
	}
	return b.String()
}

func placeholder(after string) string {
	switch after {
	case "checkpoints":
		return "{checkpoint}"
	case "exec":
		return "{session}"
	case "services":
		return "{service}"
	}
	return "{id}"
}
