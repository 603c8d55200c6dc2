package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// benchTimeout bounds one benchmark's calls.
const benchTimeout = 10 * time.Minute

// op is one small update a benchmark repeats.
type op struct {
	name string
	call func(ctx context.Context, s *starter.Session) error
}

var smallOps = []op{
	{"ReadFile", func(ctx context.Context, s *starter.Session) error {
		r, err := s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: "box", Path: "hello.txt"})
		if err == nil && r.Content != "hello\n" {
			err = fmt.Errorf("read %q", r.Content)
		}
		return err
	}},
	{"Exec", func(ctx context.Context, s *starter.Session) error {
		r, err := s.Exec(ctx, workflows.ExecRequest{SpriteName: "box", Command: "echo ok"})
		if err == nil && (r.ExitCode != 0 || r.Stdout != "ok\n") {
			err = fmt.Errorf("exec: exit %d stdout %q", r.ExitCode, r.Stdout)
		}
		return err
	}},
}

// readySession starts a session with one sprite holding hello.txt.
func readySession(ctx context.Context, b *testing.B, env *harness.Env, id string) *starter.Session {
	b.Helper()
	s := env.Starter.Session(id)
	if _, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
		b.Fatalf("CreateSprite on %s: %v", id, err)
	}
	if _, err := s.WriteFile(ctx, workflows.WriteFileRequest{SpriteName: "box", Path: "hello.txt", Content: "hello\n"}); err != nil {
		b.Fatalf("WriteFile on %s: %v", id, err)
	}
	return s
}

// historyLength is the event count of the session's current run and the
// number of continue-as-new generations behind it.
func historyLength(ctx context.Context, b *testing.B, env *harness.Env, s *starter.Session) (events int64, runs int) {
	b.Helper()
	d, err := env.Client.DescribeWorkflowExecution(ctx, s.WorkflowID(), "")
	if err != nil {
		b.Fatalf("describing %s: %v", s.WorkflowID(), err)
	}
	desc, err := s.Describe(ctx)
	if err != nil {
		b.Fatalf("Describe %s: %v", s.ID(), err)
	}
	return d.GetWorkflowExecutionInfo().GetHistoryLength(), desc.Runs
}

func endSession(ctx context.Context, b *testing.B, s *starter.Session) {
	b.Helper()
	if _, err := s.End(ctx, workflows.EndSessionRequest{}); err != nil {
		b.Errorf("ending %s: %v", s.ID(), err)
	}
}

// BenchmarkSessionUpdate measures one small update's round trip through the
// starter (Update-With-Start on a running session) and the history events
// it adds.
func BenchmarkSessionUpdate(b *testing.B) {
	env := harness.New(b)
	for _, o := range smallOps {
		b.Run(o.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
			defer cancel()
			s := readySession(ctx, b, env, fmt.Sprintf("bench-%s-%d", o.name, b.N))
			before, runsBefore := historyLength(ctx, b, env, s)
			lat := make(latencies, 0, b.N)

			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := o.call(ctx, s); err != nil {
					b.Fatalf("%s: %v", o.name, err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()

			lat.report(b)
			after, runsAfter := historyLength(ctx, b, env, s)
			if runsAfter == runsBefore {
				b.ReportMetric(float64(after-before)/float64(b.N), "events/update")
			} // else the run continued as new: the count would mean nothing
			endSession(ctx, b, s)
		})
	}
	env.AssertNoSprites(b)
}

// parallelSessions is how many sessions BenchmarkSessionUpdateParallel
// drives at once.
const parallelSessions = 20

// BenchmarkSessionUpdateParallel measures throughput with 20 sessions
// calling at once, b.N calls in all, each session one call at a time.
func BenchmarkSessionUpdateParallel(b *testing.B) {
	env := harness.New(b)
	for _, o := range smallOps {
		b.Run(o.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
			defer cancel()
			sessions := make([]*starter.Session, parallelSessions)
			for i := range sessions {
				sessions[i] = readySession(ctx, b, env, fmt.Sprintf("par-%s-%d-%d", o.name, b.N, i))
			}
			var (
				next     atomic.Int64
				wg       sync.WaitGroup
				mu       sync.Mutex
				lat      = make(latencies, 0, b.N)
				firstErr error
			)

			b.ResetTimer()
			start := time.Now()
			for _, s := range sessions {
				wg.Go(func() {
					var mine latencies
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						err := o.call(ctx, s)
						mine = append(mine, time.Since(t0))
						if err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = fmt.Errorf("%s on %s: %w", o.name, s.ID(), err)
							}
							mu.Unlock()
							return
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()

			if firstErr != nil {
				b.Fatal(firstErr)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
			lat.report(b)
			for _, s := range sessions {
				endSession(ctx, b, s)
			}
		})
	}
	env.AssertNoSprites(b)
}
