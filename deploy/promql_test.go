package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	promString   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = []string{"and", "or", "unless", "offset", "bool", "inf", "nan", "by", "without", "on", "ignoring", "group_left", "group_right"}
)

// metricNames returns the metric names a PromQL expression selects: the
// identifiers that are not functions, keywords, labels, strings, durations or
// grouping lists.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		id := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || slices.Contains(promKeywords, strings.ToLower(id)) {
			continue
		}
		names = append(names, id)
	}
	return names
}

func TestMetricNames_FindsSelectorsOnlyWhenGivenPromQL(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum(up{job="a_b"}) > 1`, []string{"up"}},
		{`sum by (le, route) (rate(x_seconds_bucket{route!~".*/(checkpoint)"}[5m]))`, []string{"x_seconds_bucket"}},
		{`sum(increase(a_total[6h])) - sum(increase(b_total[6h] offset 1h)) > 100`, []string{"a_total", "b_total"}},
		{`absent(up{job="w"} == 1) or c unless on (pod) d`, []string{"up", "c", "d"}},
		{`rate(m{a="$job"}[$__rate_interval]) * 2e3`, []string{"m"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
