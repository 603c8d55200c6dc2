package localsprites

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// FaultKind is a kind of injected failure.
type FaultKind string

// Fault kinds.
const (
	// FaultLatency delays the request by Fault.Latency, then serves it.
	FaultLatency FaultKind = "latency"
	// FaultRateLimit answers 429 with retry_after_seconds and Retry-After.
	FaultRateLimit FaultKind = "429"
	// FaultServerError answers 500.
	FaultServerError FaultKind = "500"
	// FaultDrop closes the connection without an answer. On the exec
	// WebSocket the command is started, session_info is sent, and then the
	// socket is dropped without an exit frame (the session keeps running and
	// can be re-attached).
	FaultDrop FaultKind = "drop"
)

// Fault injects one kind of failure into the operations it matches.
// Operation names are listed in ops.go (e.g. "sprites.create", "exec",
// "fs.write", "checkpoint.restore"); Op may also be "*" or end in ".*".
type Fault struct {
	Op   string
	Kind FaultKind
	// Rate is the probability (0-1] that a matching request is hit; 0 means 1.
	Rate float64
	// Latency is the delay of a FaultLatency.
	Latency time.Duration
	// RetryAfter is what a FaultRateLimit asks the client to wait (default 1s).
	RetryAfter time.Duration
	// Count, when positive, limits how many requests this fault hits.
	Count int
}

func (f *Fault) validate() error {
	if f.Op == "" {
		return fmt.Errorf("localsprites: fault without an op")
	}
	switch f.Kind {
	case FaultLatency, FaultRateLimit, FaultServerError, FaultDrop:
	default:
		return fmt.Errorf("localsprites: fault %q: unknown kind %q", f.Op, f.Kind)
	}
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("localsprites: fault %q: rate %v outside [0,1]", f.Op, f.Rate)
	}
	if f.Rate == 0 {
		f.Rate = 1
	}
	if f.Kind == FaultRateLimit && f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	return nil
}

func (f *Fault) matches(op string) bool {
	switch {
	case f.Op == "*" || f.Op == op:
		return true
	case strings.HasSuffix(f.Op, ".*"):
		return strings.HasPrefix(op, strings.TrimSuffix(f.Op, "*"))
	}
	return false
}

// ParseFault parses the command-line form of a fault:
// "op=exec,kind=drop,rate=0.1,latency=200ms,retry_after=2s,count=3".
func ParseFault(s string) (Fault, error) {
	var f Fault
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return f, fmt.Errorf("localsprites: fault %q: %q is not key=value", s, part)
		}
		var err error
		switch k {
		case "op":
			f.Op = v
		case "kind":
			f.Kind = FaultKind(v)
		case "rate":
			f.Rate, err = strconv.ParseFloat(v, 64)
		case "latency":
			f.Latency, err = time.ParseDuration(v)
		case "retry_after":
			f.RetryAfter, err = time.ParseDuration(v)
		case "count":
			f.Count, err = strconv.Atoi(v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return f, fmt.Errorf("localsprites: fault %q: %w", s, err)
		}
	}
	if err := f.validate(); err != nil {
		return f, err
	}
	return f, nil
}

// faults decides, reproducibly for a given seed and request order, which
// requests fail.
type faults struct {
	mu    sync.Mutex
	rng   *rand.Rand
	rules []Fault
	hits  []int
}

func newFaults(seed uint64, rules []Fault) *faults {
	f := &faults{rng: rand.New(rand.NewPCG(seed, 0x5eed))}
	f.set(rules)
	return f
}

func (f *faults) set(rules []Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append([]Fault(nil), rules...)
	f.hits = make([]int, len(rules))
}

// decide returns the total added latency and the failure (if any) for op.
// Every matching rule rolls its die in order, so a seed replays the same
// decisions for the same sequence of requests.
func (f *faults) decide(op string) (time.Duration, *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var delay time.Duration
	var fail *Fault
	for i := range f.rules {
		r := &f.rules[i]
		if !r.matches(op) || (r.Count > 0 && f.hits[i] >= r.Count) {
			continue
		}
		if r.Rate < 1 && f.rng.Float64() >= r.Rate {
			continue
		}
		if r.Kind == FaultLatency {
			f.hits[i]++
			delay += r.Latency
			continue
		}
		if fail == nil {
			f.hits[i]++
			c := *r
			fail = &c
		}
	}
	return delay, fail
}

// faultKey carries a drop fault to the exec handler, which drops the socket
// after the session starts instead of before.
type faultKey struct{}

// inject applies the faults for op. It returns false when it answered the
// request itself.
func (s *Server) inject(op string, w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	delay, fail := s.faults.decide(op)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return r, false
		}
	}
	if fail == nil {
		return r, true
	}
	s.log.Info("injecting fault", "op", op, "kind", fail.Kind)
	switch fail.Kind {
	case FaultRateLimit:
		secs := int((fail.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, sprites.ErrorBody{
			Error:             "sprite_creation_rate_limited",
			Message:           "injected rate limit",
			Limit:             10,
			WindowSeconds:     60,
			RetryAfterSeconds: secs,
		})
	case FaultServerError:
		writeJSON(w, http.StatusInternalServerError, sprites.ErrorBody{Error: "injected server error"})
	case FaultDrop:
		if op == opExec || op == opExecAttach {
			return r.WithContext(context.WithValue(r.Context(), faultKey{}, fail)), true
		}
		dropConnection(w)
	}
	return r, false
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 cannot hijack; aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func dropRequested(r *http.Request) bool {
	_, ok := r.Context().Value(faultKey{}).(*Fault)
	return ok
}
