package bench

import (
	"slices"
	"testing"
	"time"
)

// latencies collects round-trip times.
type latencies []time.Duration

// percentile returns the p-th percentile (0-100) by the nearest-rank
// method, in milliseconds; 0 when empty.
func (l latencies) percentile(p float64) float64 {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	rank = max(0, min(rank, len(s)-1))
	return float64(s[rank]) / float64(time.Millisecond)
}

// mean returns the mean in milliseconds; 0 when empty.
func (l latencies) mean() float64 {
	if len(l) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return float64(sum) / float64(len(l)) / float64(time.Millisecond)
}

// report adds mean_ms, p50_ms and p95_ms to b's results.
func (l latencies) report(b *testing.B) {
	b.ReportMetric(l.mean(), "mean_ms")
	b.ReportMetric(l.percentile(50), "p50_ms")
	b.ReportMetric(l.percentile(95), "p95_ms")
}

func TestLatencies_PercentileByNearestRank(t *testing.T) {
	var l latencies
	for i := 1; i <= 20; i++ {
		l = append(l, time.Duration(21-i)*time.Millisecond) // unsorted on purpose
	}
	tests := []struct {
		p    float64
		want float64
	}{{50, 10}, {95, 19}, {100, 20}, {1, 1}}
	for _, tt := range tests {
		if got := l.percentile(tt.p); got != tt.want {
			t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := l.mean(); got != 10.5 {
		t.Errorf("mean = %v, want 10.5", got)
	}
	if got := (latencies{}).percentile(50); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}
