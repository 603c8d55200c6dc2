package worker

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// scrape fetches /metrics over HTTP from a loopback server and fails the
// test if the registry reports a gathering error.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	if _, err := m.Registry().Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	srv := httptest.NewServer(m.HTTPHandler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("scrape lacks line %q", l)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grepTemporalAndOurs(out))
	}
}

func grepTemporalAndOurs(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "temporal_") || strings.Contains(l, "sprite_sessions_") || strings.Contains(l, "test_") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestMetricsHandler_AcceptsOneNameWithDifferentLabelSets(t *testing.T) {
	m := NewMetrics()
	// The shape of sdk-go#1450: failure_reason is present at one call site only.
	h := m.Handler().WithTags(map[string]string{"namespace": "default", "workflow_type": "SessionWorkflow"})
	h.Counter("temporal_workflow_task_execution_failed").Inc(1)
	h.WithTags(map[string]string{"failure_reason": "NonDeterminismError"}).Counter("temporal_workflow_task_execution_failed").Inc(2)
	h.Timer("temporal_request_latency").Record(time.Second)
	h.WithTags(map[string]string{"operation": "PollWorkflowTaskQueue"}).Timer("temporal_request_latency").Record(time.Second)
	h.Gauge("temporal_num_pollers").Update(2)
	m.Handler().Gauge("temporal_num_pollers").Update(3)

	out := scrape(t, m)
	wantLines(t, out,
		`temporal_workflow_task_execution_failed_total{namespace="default",workflow_type="SessionWorkflow"} 1`,
		`temporal_workflow_task_execution_failed_total{failure_reason="NonDeterminismError",namespace="default",workflow_type="SessionWorkflow"} 2`,
		`temporal_request_latency_seconds_count{namespace="default",workflow_type="SessionWorkflow"} 1`,
		`temporal_request_latency_seconds_count{namespace="default",operation="PollWorkflowTaskQueue",workflow_type="SessionWorkflow"} 1`,
		`temporal_num_pollers{namespace="default",workflow_type="SessionWorkflow"} 2`,
		`temporal_num_pollers 3`,
	)
}

func TestMetricsHandler_ExportsCountersAsTotalAndTimersAsHistogramsInSeconds(t *testing.T) {
	m := NewMetrics()
	h := m.Handler().WithTags(map[string]string{"activity_type": "Exec"})
	h.Counter("temporal_request").Inc(3)
	h.Counter("already_total").Inc(1)
	h.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	h.Timer("temporal_activity_execution_latency").Record(40 * time.Minute)
	h.Gauge("temporal_sticky_cache_size").Update(7)

	out := scrape(t, m)
	wantLines(t, out,
		`# TYPE temporal_request_total counter`,
		`temporal_request_total{activity_type="Exec"} 3`,
		`already_total{activity_type="Exec"} 1`,
		`# TYPE temporal_activity_execution_latency_seconds histogram`,
		`temporal_activity_execution_latency_seconds_bucket{activity_type="Exec",le="1"} 0`,
		`temporal_activity_execution_latency_seconds_bucket{activity_type="Exec",le="2.5"} 1`,
		`temporal_activity_execution_latency_seconds_bucket{activity_type="Exec",le="1800"} 1`,
		`temporal_activity_execution_latency_seconds_bucket{activity_type="Exec",le="3600"} 2`,
		`temporal_activity_execution_latency_seconds_sum{activity_type="Exec"} 2401.5`,
		`temporal_activity_execution_latency_seconds_count{activity_type="Exec"} 2`,
		`# TYPE temporal_sticky_cache_size gauge`,
		`temporal_sticky_cache_size{activity_type="Exec"} 7`,
	)
	if strings.Contains(out, "already_total_total") {
		t.Error("a name ending in _total got a second suffix")
	}
}

func TestMetricsHandler_IgnoresNegativeIncrements(t *testing.T) {
	m := NewMetrics()
	c := m.Handler().Counter("test_counter")
	c.Inc(5)
	c.Inc(-3)
	c.Inc(0)
	wantLines(t, scrape(t, m), `test_counter_total 5`)
}

func TestMetricsHandler_SurvivesKindConflictsAndOddNames(t *testing.T) {
	m := NewMetrics()
	m.Handler().Gauge("test_clash_total").Update(1)
	m.Handler().Counter("test_clash").Inc(1) // same exported name, other type: dropped
	odd := m.Handler().WithTags(map[string]string{"le": "x", "a-b": "c", "__reserved": "y", "bad": "\xff", "9lives": "z"})
	odd.Timer("test.odd-name").Record(time.Millisecond)
	odd.Counter("0starts with digit").Inc(1)

	out := scrape(t, m)
	wantLines(t, out,
		`test_clash_total 1`,
		`test_odd_name_seconds_count{_9lives="z",a_b="c",bad="`+"\uFFFD"+`",tag_le="x",tag_reserved="y"} 1`,
		`_0starts_with_digit_total{_9lives="z",a_b="c",bad="`+"\uFFFD"+`",le="x",tag_reserved="y"} 1`,
	)
}

func TestMetricsHandler_CountsEveryIncrementUnderConcurrency(t *testing.T) {
	m := NewMetrics()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				// Fresh handlers each time, as the SDK does on hot paths.
				h := m.Handler().WithTags(map[string]string{"worker_type": "ActivityWorker"})
				h.Counter("test_hits").Inc(1)
				h.WithTags(map[string]string{"g": string(rune('a' + g%2))}).Timer("test_lat").Record(time.Duration(i) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	wantLines(t, scrape(t, m),
		`test_hits_total{worker_type="ActivityWorker"} 4000`,
		`test_lat_seconds_count{g="a",worker_type="ActivityWorker"} 2000`,
		`test_lat_seconds_count{g="b",worker_type="ActivityWorker"} 2000`,
	)
}

// The SDK's own temporal_ series need a real server (the test environment
// emits none); the end-to-end suite in tests/ scrapes them.
func TestMetricsHandler_ExportsWorkflowMetrics(t *testing.T) {
	m := NewMetrics()
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(m.Handler())
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	wf := func(ctx workflow.Context) error {
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"outcome": "ok"}).Counter("sprite_sessions_test_step").Inc(1)
		// A timer ends the first workflow task: the second increment comes
		// from the next one.
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return err
		}
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"outcome": "ok"}).Counter("sprite_sessions_test_step").Inc(1)
		return nil
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "MetricsTestWorkflow"})
	env.ExecuteWorkflow("MetricsTestWorkflow")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, m)
	found := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "sprite_sessions_test_step_total{") {
			found = l
		}
	}
	if !strings.Contains(found, `outcome="ok"`) || !strings.HasSuffix(found, " 2") {
		t.Errorf("workflow counter line = %q, want outcome=ok and the value 2\n%s", found, grepTemporalAndOurs(out))
	}
}
