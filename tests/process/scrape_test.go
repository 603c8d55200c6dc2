package process

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is a parsed /metrics answer.
type scrape []sample

// parseExposition reads the Prometheus text format: enough of it for the
// series a client_golang registry writes (no timestamps, escaped label
// values).
func parseExposition(text string) (scrape, error) {
	var out scrape
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end <= 0 {
		return s, fmt.Errorf("no metric name")
	}
	s.name, line = line[:end], line[end:]
	if strings.HasPrefix(line, "{") {
		rest, err := parseLabels(line[1:], s.labels)
		if err != nil {
			return s, err
		}
		line = rest
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value: %w", err)
	}
	s.value = v
	return s, nil
}

// parseLabels reads `k="v",...}` into labels and returns what follows '}'.
func parseLabels(in string, labels map[string]string) (string, error) {
	for {
		in = strings.TrimLeft(in, ", ")
		if strings.HasPrefix(in, "}") {
			return in[1:], nil
		}
		eq := strings.Index(in, `="`)
		if eq <= 0 {
			return "", fmt.Errorf("bad label in %q", in)
		}
		key := in[:eq]
		in = in[eq+2:]
		var val strings.Builder
		i := 0
		for ; i < len(in) && in[i] != '"'; i++ {
			if in[i] == '\\' && i+1 < len(in) {
				i++
				switch in[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(in[i])
				}
				continue
			}
			val.WriteByte(in[i])
		}
		if i == len(in) {
			return "", fmt.Errorf("unterminated value of label %s", key)
		}
		labels[key] = val.String()
		in = in[i+1:]
	}
}

// sum adds the values of the series named name whose labels include want;
// found is false when there is no such series.
func (sc scrape) sum(name string, want map[string]string) (total float64, found bool) {
next:
	for _, s := range sc {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		total += s.value
		found = true
	}
	return total, found
}

// hasPrefix reports whether any series name starts with prefix.
func (sc scrape) hasPrefix(prefix string) bool {
	for _, s := range sc {
		if strings.HasPrefix(s.name, prefix) {
			return true
		}
	}
	return false
}

func TestParseExposition_ReadsNamesLabelsAndValues(t *testing.T) {
	sc, err := parseExposition(`# HELP x_total help
# TYPE x_total counter
x_total{a="1",b="q\"uote"} 3
x_total{a="2"} 4.5
y 7
`)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := sc.sum("x_total", nil); !ok || v != 7.5 {
		t.Errorf("sum x_total = %v %v, want 7.5", v, ok)
	}
	if v, ok := sc.sum("x_total", map[string]string{"b": `q"uote`}); !ok || v != 3 {
		t.Errorf("sum x_total{b=q\"uote} = %v %v, want 3", v, ok)
	}
	if _, ok := sc.sum("x_total", map[string]string{"a": "3"}); ok {
		t.Error("found a series that does not exist")
	}
	if v, _ := sc.sum("y", nil); v != 7 {
		t.Errorf("y = %v, want 7", v)
	}
}
