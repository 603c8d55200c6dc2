package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

const healthToken = "sk-health-0c4b1a"

// listServer answers GET /v1/sprites for healthToken only, and counts calls.
type listServer struct {
	calls atomic.Int32
	query atomic.Value // last raw query
}

func (s *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	s.query.Store(r.URL.RawQuery)
	if r.Header.Get("Authorization") != "Bearer "+healthToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid token ` + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + `"}`))
		return
	}
	_, _ = w.Write([]byte(`{"sprites":[],"has_more":false,"next_continuation_token":null}`))
}

type healthFixture struct {
	url      string
	sprites  *listServer
	state    *atomic.Int32
	temporal *settableErr
	clock    *fakeClock
}

// settableErr is the Temporal health check's answer.
type settableErr struct {
	mu  sync.Mutex
	err error
}

func (s *settableErr) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *settableErr) check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newHealthFixture serves the worker's health mux on loopback, with a real
// Sprites client against a loopback Sprites server and a stand-in for the
// Temporal health check.
func newHealthFixture(t *testing.T, token string) *healthFixture {
	t.Helper()
	ls := &listServer{}
	api := httptest.NewServer(ls)
	t.Cleanup(api.Close)
	f := &healthFixture{sprites: ls, state: &atomic.Int32{}, temporal: &settableErr{},
		clock: &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	r := &readiness{
		started: func() error { return stateErr(f.state.Load()) },
		deps: []dependency{
			{"temporal", f.temporal.check},
			spritesDependency(sprites.New(token, sprites.WithBaseURL(api.URL))),
		},
		ttl: readyCacheTTL,
		now: f.clock.Now,
	}
	m := NewMetrics()
	m.Handler().Counter("test_health_metric").Inc(1)
	srv := httptest.NewServer(healthMux(m.HTTPHandler(), r))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *healthFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(f.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHealthz_AnswersEvenWhenNotReady(t *testing.T) {
	f := newHealthFixture(t, healthToken)
	if code, _ := f.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	code, body := f.get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not started") {
		t.Errorf("/readyz before start = %d %q, want 503 not started", code, body)
	}
	if f.sprites.calls.Load() != 0 {
		t.Error("dependencies were checked before the worker started")
	}
}

func TestReadyz_ReadyWhenStartedAndDependenciesAnswer(t *testing.T) {
	f := newHealthFixture(t, healthToken)
	f.state.Store(stateStarted)
	code, body := f.get(t, "/readyz")
	if code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz = %d %q, want 200 ready", code, body)
	}
	if q, _ := f.sprites.query.Load().(string); q != "max_results=1" {
		t.Errorf("sprites check query = %q, want max_results=1", q)
	}
}

func TestReadyz_NotReadyWhenADependencyFails(t *testing.T) {
	t.Run("sprites refuses the token", func(t *testing.T) {
		const wrong = "sk-wrong-55aa"
		f := newHealthFixture(t, wrong)
		f.state.Store(stateStarted)
		code, body := f.get(t, "/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "sprites api") {
			t.Errorf("/readyz = %d %q, want 503 naming the sprites api", code, body)
		}
		if strings.Contains(body, wrong) {
			t.Errorf("/readyz body %q contains the token", body)
		}
	})
	t.Run("temporal does not answer", func(t *testing.T) {
		f := newHealthFixture(t, healthToken)
		f.state.Store(stateStarted)
		f.temporal.set(errors.New("connection refused"))
		code, body := f.get(t, "/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "temporal: connection refused") {
			t.Errorf("/readyz = %d %q, want 503 naming temporal", code, body)
		}
	})
}

func TestReadyz_CachesVerdictBriefly(t *testing.T) {
	f := newHealthFixture(t, healthToken)
	f.state.Store(stateStarted)
	for range 3 {
		if code, _ := f.get(t, "/readyz"); code != http.StatusOK {
			t.Fatalf("/readyz = %d", code)
		}
	}
	if n := f.sprites.calls.Load(); n != 1 {
		t.Errorf("sprites called %d times within the cache period, want 1", n)
	}
	f.temporal.set(errors.New("gone"))
	if code, _ := f.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("cached verdict not used: %d", code)
	}
	f.clock.Advance(readyCacheTTL)
	if code, _ := f.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after the cache period = %d, want 503", code)
	}
	if n := f.sprites.calls.Load(); n != 2 {
		t.Errorf("sprites called %d times, want 2", n)
	}
}

func TestReadyz_NotReadyOnceStoppingDespiteCache(t *testing.T) {
	f := newHealthFixture(t, healthToken)
	f.state.Store(stateStarted)
	if code, _ := f.get(t, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d", code)
	}
	f.state.Store(stateStopping)
	code, body := f.get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "stopping") {
		t.Errorf("/readyz while stopping = %d %q", code, body)
	}
}

func TestHealthMux_ServesMetrics(t *testing.T) {
	f := newHealthFixture(t, healthToken)
	code, body := f.get(t, "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "test_health_metric_total 1") {
		t.Errorf("/metrics = %d, body lacks the counter", code)
	}
}

// TestReadiness_ProbeThatGivesUpDoesNotPoisonTheVerdict cancels the first
// probe's request (a prober whose timeout is shorter than the checks) and
// asks again: the answer must be the dependencies', not the cached
// cancellation of a caller that left.
func TestReadiness_ProbeThatGivesUpDoesNotPoisonTheVerdict(t *testing.T) {
	r := &readiness{
		started: func() error { return nil },
		deps:    []dependency{{"sprites api", func(ctx context.Context) error { return ctx.Err() }}},
		ttl:     readyCacheTTL,
		now:     (&fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}).Now,
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.ready(gone); err != nil {
		t.Logf("first probe (caller gone): %v", err)
	}
	if err := r.ready(context.Background()); err != nil {
		t.Fatalf("second probe = %v, want ready: a cancelled caller's error was cached", err)
	}
}
