package workflows

import (
	"encoding/json"
)

// Update IDs are deduplicated by the server only within one run; these carry
// the recent ones over continue-as-new, so a client retrying an update that
// completed just before the run continued gets the same answer instead of a
// second execution.
const (
	// maxRecentUpdates bounds RecentUpdateIDs.
	maxRecentUpdates = 256
	// maxKeptResult bounds one kept answer; with maxRecentUpdates it bounds
	// RecentResults to 256 KiB of the continue-as-new input. Larger answers
	// (long exec output, file contents) are not kept: a repeat of such an
	// update is rejected as a duplicate rather than run twice.
	maxKeptResult = 1 << 10
)

// remember records a completed update and, when small, its answer.
func (s *session) remember(id string, resp any) {
	if id == "" || s.recent[id] {
		return
	}
	s.recent[id] = true
	s.st.RecentUpdateIDs = append(s.st.RecentUpdateIDs, id)
	// encoding/json is deterministic for our types (it sorts map keys);
	// workflowcheck flags its use of reflection.
	b, err := json.Marshal(resp) //workflowcheck:ignore
	if err == nil && len(b) <= maxKeptResult {
		if s.st.RecentResults == nil {
			s.st.RecentResults = map[string]json.RawMessage{}
		}
		s.st.RecentResults[id] = b
	}
	for len(s.st.RecentUpdateIDs) > maxRecentUpdates {
		old := s.st.RecentUpdateIDs[0]
		s.st.RecentUpdateIDs = s.st.RecentUpdateIDs[1:]
		delete(s.recent, old)
		delete(s.st.RecentResults, old)
	}
}

// recall returns the kept answer of a completed update.
func recall[Resp any](s *session, id string) (Resp, bool) {
	var resp Resp
	raw, ok := s.st.RecentResults[id]
	if !ok || !s.recent[id] {
		return resp, false
	}
	err := json.Unmarshal(raw, &resp) //workflowcheck:ignore (see remember)
	if err != nil {
		return resp, false
	}
	return resp, true
}
