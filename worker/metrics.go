package worker

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// TimerBuckets are the histogram buckets, in seconds, of every timer: from
// 5ms up to an hour, because activity latencies include long execs and
// checkpoints.
var TimerBuckets = []float64{
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600,
}

// Metrics is the worker's Prometheus registry and the client.MetricsHandler
// that feeds it. The SDK emits some metric names with different label sets
// at different call sites (sdk-go#1450), which client_golang's vectors
// reject; here every (name, labels) series is its own metric with constant
// labels, owned by one unchecked collector, so any label set is accepted
// and exported.
type Metrics struct {
	registry *prometheus.Registry
	series   *seriesStore
}

// NewMetrics returns a registry holding the SDK and domain series plus the
// Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry(), series: &seriesStore{kinds: map[string]metricKind{}}}
	m.registry.MustRegister(m.series,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler returns the root client.MetricsHandler: give it to client.Options
// (the SDK's metrics and workflow.GetMetricsHandler go through it) and to
// InstrumentTransport.
func (m *Metrics) Handler() client.MetricsHandler {
	return &promHandler{store: m.series, labels: newLabelSet(nil)}
}

// Registry returns the Prometheus registry, for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// HTTPHandler serves the registry in the Prometheus exposition format. A
// series that fails to gather is left out rather than failing the scrape.
func (m *Metrics) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

type metricKind uint8

const (
	kindCounter metricKind = iota + 1
	kindGauge
	kindHistogram
)

// seriesStore is an unchecked collector (Describe sends nothing): the
// registry then accepts one name with several label sets, and checks at
// gather time only that series do not repeat, which the store's keys
// guarantee.
type seriesStore struct {
	series sync.Map // key -> prometheus.Metric

	mu    sync.Mutex
	kinds map[string]metricKind // exported name -> kind
}

func (s *seriesStore) Describe(chan<- *prometheus.Desc) {}

func (s *seriesStore) Collect(ch chan<- prometheus.Metric) {
	s.series.Range(func(_, v any) bool {
		ch <- v.(prometheus.Metric)
		return true
	})
}

// get returns the series of (kind, name, labels), creating it on first use.
// A name already used by another kind yields nil: Prometheus cannot export
// one name as two types.
func (s *seriesStore) get(kind metricKind, name string, l *labelSet) prometheus.Metric {
	key := string(rune('0'+kind)) + "\xff" + name + "\xff" + l.key
	if v, ok := s.series.Load(key); ok {
		return v.(prometheus.Metric)
	}
	s.mu.Lock()
	if k, ok := s.kinds[name]; ok && k != kind {
		s.mu.Unlock()
		return nil
	}
	s.kinds[name] = kind
	s.mu.Unlock()

	help := "sprite-sessions metric " + name
	if strings.HasPrefix(name, "temporal_") {
		help = "Temporal SDK metric " + name
	}
	var m prometheus.Metric
	switch kind {
	case kindCounter:
		m = prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: l.labels})
	case kindGauge:
		m = prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: l.labels})
	case kindHistogram:
		m = prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, ConstLabels: l.histogramLabels(), Buckets: TimerBuckets})
	}
	v, _ := s.series.LoadOrStore(key, m)
	return v.(prometheus.Metric)
}

// labelSet is an immutable set of sanitised labels with a canonical key.
type labelSet struct {
	labels prometheus.Labels
	key    string
}

func newLabelSet(tags map[string]string) *labelSet {
	l := &labelSet{labels: make(prometheus.Labels, len(tags))}
	for k, v := range tags {
		l.labels[sanitizeLabel(k)] = strings.ToValidUTF8(v, "\uFFFD")
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l.labels)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(l.labels[k])
		b.WriteByte('\xfe')
	}
	l.key = b.String()
	return l
}

// histogramLabels renames a tag called "le", which a histogram reserves for
// its buckets.
func (l *labelSet) histogramLabels() prometheus.Labels {
	v, ok := l.labels["le"]
	if !ok {
		return l.labels
	}
	out := maps.Clone(l.labels)
	delete(out, "le")
	out["tag_le"] = v
	return out
}

// promHandler implements client.MetricsHandler over a seriesStore.
type promHandler struct {
	store  *seriesStore
	tags   map[string]string
	labels *labelSet
}

// WithTags returns a handler whose series carry tags on top of h's, new
// values winning.
func (h *promHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	maps.Copy(merged, tags)
	return &promHandler{store: h.store, tags: merged, labels: newLabelSet(merged)}
}

// Counter exports name + "_total".
func (h *promHandler) Counter(name string) client.MetricsCounter {
	if c, ok := h.store.get(kindCounter, counterName(name), h.labels).(prometheus.Counter); ok {
		return counter{c}
	}
	return client.MetricsNopHandler.Counter(name)
}

// Gauge exports name as is.
func (h *promHandler) Gauge(name string) client.MetricsGauge {
	if g, ok := h.store.get(kindGauge, sanitizeName(name), h.labels).(prometheus.Gauge); ok {
		return gauge{g}
	}
	return client.MetricsNopHandler.Gauge(name)
}

// Timer exports a histogram in seconds named name + "_seconds".
func (h *promHandler) Timer(name string) client.MetricsTimer {
	if o, ok := h.store.get(kindHistogram, timerName(name), h.labels).(prometheus.Histogram); ok {
		return timer{o}
	}
	return client.MetricsNopHandler.Timer(name)
}

type counter struct{ c prometheus.Counter }

// Inc ignores negative steps: a Prometheus counter panics on them, and the
// SDK documents counters as ever-increasing anyway.
func (c counter) Inc(n int64) {
	if n > 0 {
		c.c.Add(float64(n))
	}
}

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ h prometheus.Histogram }

func (t timer) Record(d time.Duration) { t.h.Observe(d.Seconds()) }

func counterName(name string) string {
	n := sanitizeName(name)
	if strings.HasSuffix(n, "_total") {
		return n
	}
	return n + "_total"
}

func timerName(name string) string {
	n := sanitizeName(name)
	if strings.HasSuffix(n, "_seconds") {
		return n
	}
	return n + "_seconds"
}

// sanitizeName maps a name onto [a-zA-Z_:][a-zA-Z0-9_:]*.
func sanitizeName(name string) string {
	return sanitize(name, true)
}

// sanitizeLabel maps a tag key onto [a-zA-Z_][a-zA-Z0-9_]*, without the
// reserved "__" prefix.
func sanitizeLabel(key string) string {
	s := sanitize(key, false)
	if strings.HasPrefix(s, "__") {
		s = "tag" + s[1:]
	}
	return s
}

func sanitize(s string, colon bool) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (colon && r == ':') ||
			(i > 0 && r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
		case i == 0 && r >= '0' && r <= '9':
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
