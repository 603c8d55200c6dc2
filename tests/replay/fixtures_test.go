package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
)

// fixtureDir holds the committed histories.
const fixtureDir = "testdata"

// maxFixtureBytes keeps committed fixtures small.
const maxFixtureBytes = 200 << 10

// legacyDir holds histories recorded by earlier versions of the workflow
// code, kept so that every version a running session may have started on
// still replays (v0: before the session resolved and recorded its limits).
// They are never re-recorded.
const legacyDir = "v0"

// fixtureFiles lists every fixture, current and legacy; it fails t when
// there is none, so an emptied testdata directory cannot make the replay
// test pass vacuously.
func fixtureFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatalf("listing fixtures: %v", err)
	}
	legacy, err := filepath.Glob(filepath.Join(fixtureDir, legacyDir, "*.json"))
	if err != nil {
		t.Fatalf("listing fixtures: %v", err)
	}
	files = append(files, legacy...)
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s: record them with `go test ./replay/ -run TestRecordFixtures -record`", fixtureDir)
	}
	slices.Sort(files)
	return files
}

// loadFixture reads a fixture the way the replayer does.
func loadFixture(t *testing.T, path string) *historypb.History {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening fixture: %v", err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("decoding fixture %s: %v", path, err)
	}
	return h
}

// fetchHistory reads every event of a run from the server.
func fetchHistory(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s run %q: %w", workflowID, runID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// writeFixture saves the history of a closed run as testdata/<name>.json.
func writeFixture(t *testing.T, c client.Client, name, workflowID, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := fetchHistory(ctx, c, workflowID, runID)
	if err != nil {
		t.Fatal(err)
	}
	if !closed(h) {
		t.Fatalf("fixture %s: the run of %s has not closed (last event %v)", name, workflowID, lastEventType(h))
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(h)
	if err != nil {
		t.Fatalf("encoding fixture %s: %v", name, err)
	}
	if len(data) > maxFixtureBytes {
		t.Fatalf("fixture %s is %d bytes, over the %d limit: record a shorter path", name, len(data), maxFixtureBytes)
	}
	path := filepath.Join(fixtureDir, name+".json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatalf("writing fixture: %v", err)
	}
	t.Logf("recorded %s: %d events, %d bytes", path, len(h.Events), len(data))
}

// closed reports whether the history ends with the close of its run.
func closed(h *historypb.History) bool {
	switch lastEventType(h) {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return true
	}
	return false
}

func lastEventType(h *historypb.History) enumspb.EventType {
	if len(h.Events) == 0 {
		return enumspb.EVENT_TYPE_UNSPECIFIED
	}
	return h.Events[len(h.Events)-1].GetEventType()
}

// countEvents counts the events of one type.
func countEvents(h *historypb.History, typ enumspb.EventType) int {
	n := 0
	for _, ev := range h.Events {
		if ev.GetEventType() == typ {
			n++
		}
	}
	return n
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
