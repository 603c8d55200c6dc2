package harness

import (
	"testing"
	"time"
)

// pollInterval is how often the polling helpers look again.
const pollInterval = 50 * time.Millisecond

// WaitUntil polls cond until it holds and returns how long that took. It
// fails t, naming what it waited for, when timeout passes first. Use it
// where no event can be awaited.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	took, ok := poll(timeout, cond)
	if !ok {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
	return took
}

func poll(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Now().After(deadline) {
			return time.Since(start), false
		}
		<-tick.C
	}
}
