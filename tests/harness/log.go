package harness

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logGate stops log output once the Env has shut down: a goroutine that
// logs after its test completed would panic.
type logGate struct {
	mu     sync.Mutex
	closed bool
}

func (g *logGate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// testHandler copies log records at or above a level into the test log.
type testHandler struct {
	t     testing.TB
	level slog.Level
	gate  *logGate
	attrs []slog.Attr
	group string
}

func newTestLogger(t testing.TB, level slog.Level, gate *logGate) *slog.Logger {
	return slog.New(&testHandler{t: t, level: level, gate: gate})
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level
}

func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteString(" ")
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		b.WriteString(" ")
		if h.group != "" {
			b.WriteString(h.group + ".")
		}
		b.WriteString(a.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.gate.mu.Lock()
	defer h.gate.mu.Unlock()
	if !h.gate.closed {
		h.t.Log(b.String())
	}
	return nil
}

func (h *testHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *testHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
