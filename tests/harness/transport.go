package harness

import (
	"net/http"
	"sync"
)

// countingTransport counts the HTTP status codes the Sprites API answered,
// so a test can prove that the faults it asked for were really met.
type countingTransport struct {
	next http.RoundTripper

	mu     sync.Mutex
	counts map[int]int
}

func newCountingTransport() *countingTransport {
	base := http.DefaultTransport.(*http.Transport).Clone()
	return &countingTransport{next: base, counts: map[int]int{}}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.counts[resp.StatusCode]++
		c.mu.Unlock()
	}
	return resp, err
}

func (c *countingTransport) count(code int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[code]
}

func (c *countingTransport) closeIdle() {
	if t, ok := c.next.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}
