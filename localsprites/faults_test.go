package localsprites

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestFaults_RateLimitCarriesRetryAfter(t *testing.T) {
	ts := start(t, Config{Faults: []Fault{{Op: "sprites.create", Kind: FaultRateLimit, RetryAfter: 2 * time.Second, Count: 1}}})
	resp := ts.do("POST", "/v1/sprites", nil, sprites.CreateRequest{Name: "rl"})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	apiErr := sprites.DecodeError("create", resp)
	if !errors.Is(apiErr, sprites.ErrRateLimited) || apiErr.RetryAfter != 2*time.Second || apiErr.Body.RetryAfterSeconds != 2 {
		t.Fatalf("decoded %+v", apiErr)
	}
	// Count 1: the retry goes through.
	ts.create("rl")
}

func TestFaults_ServerErrorLatencyAndDrop(t *testing.T) {
	ts := start(t, Config{})
	ts.create("f")
	if err := ts.srv.SetFaults([]Fault{{Op: "sprites.*", Kind: FaultServerError}}); err != nil {
		t.Fatal(err)
	}
	ts.call("GET", "/v1/sprites/f", nil, nil, http.StatusInternalServerError, nil)
	ts.call("GET", "/v1/sprites", nil, nil, http.StatusInternalServerError, nil)
	ts.call("GET", "/v1/sprites/f/fs/list", map[string][]string{"path": {"."}}, nil, http.StatusOK, nil) // other ops unaffected

	if err := ts.srv.SetFaults([]Fault{{Op: "sprites.list", Kind: FaultDrop}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", ts.url("/v1/sprites", nil), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %d", resp.StatusCode)
	}

	const latency = 150 * time.Millisecond
	if err := ts.srv.SetFaults([]Fault{{Op: "fs.read", Kind: FaultLatency, Latency: latency}}); err != nil {
		t.Fatal(err)
	}
	ts.writeFile("f", "x", "y")
	began := time.Now()
	if got, _ := ts.readFile("f", "x"); got != "y" {
		t.Fatalf("read %q", got)
	}
	if took := time.Since(began); took < latency {
		t.Fatalf("latency fault not applied: %v", took)
	}
	if err := ts.srv.SetFaults(nil); err != nil {
		t.Fatal(err)
	}
	ts.call("GET", "/v1/sprites", nil, nil, http.StatusOK, nil)
}

func TestFaults_ExecDropLeavesSessionAttachable(t *testing.T) {
	ts := start(t, Config{Faults: []Fault{{Op: "exec", Kind: FaultDrop, Count: 1}}})
	ts.create("dx")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/dx/exec", execQuery([]string{"sh", "-c", "echo done; exit 5"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	res := readSession(ctx, t, c, nil)
	if res.exited || res.sessionID == 0 {
		t.Fatalf("dropped socket delivered %+v", res)
	}
	c2, err := ts.dial(ctx, "/v1/sprites/dx/exec/"+strconv.FormatInt(res.sessionID, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if res := readSession(ctx, t, c2, nil); res.exitCode != 5 || res.stdout != "done\n" {
		t.Fatalf("re-attach: %+v", res)
	}
}

func TestFaults_SameSeedSameDecisions(t *testing.T) {
	rules := []Fault{{Op: "*", Kind: FaultServerError, Rate: 0.5}}
	run := func(seed uint64) []bool {
		f := newFaults(seed, rules)
		out := make([]bool, 200)
		for i := range out {
			_, fail := f.decide("sprites.get")
			out[i] = fail != nil
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	hits, same := 0, true
	for i := range a {
		if a[i] {
			hits++
		}
		same = same && a[i] == c[i]
		if a[i] != b[i] {
			t.Fatalf("decision %d differs under the same seed", i)
		}
	}
	if hits < 60 || hits > 140 {
		t.Fatalf("rate 0.5 hit %d of 200", hits)
	}
	if same {
		t.Fatal("another seed gave the same decisions")
	}
}

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Fault
		bad  bool
	}{
		{in: "op=exec,kind=drop,rate=0.25", want: Fault{Op: "exec", Kind: FaultDrop, Rate: 0.25}},
		{in: "op=sprites.*,kind=429,retry_after=3s,count=2", want: Fault{Op: "sprites.*", Kind: FaultRateLimit, Rate: 1, RetryAfter: 3 * time.Second, Count: 2}},
		{in: "op=*,kind=latency,latency=50ms", want: Fault{Op: "*", Kind: FaultLatency, Rate: 1, Latency: 50 * time.Millisecond}},
		{in: "op=exec,kind=explode", bad: true},
		{in: "kind=500", bad: true},
		{in: "op=exec,kind=500,rate=2", bad: true},
		{in: "op=exec,kind=500,color=red", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFault(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
