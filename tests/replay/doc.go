// Package replay proves that the workflow code of this build replays the
// histories recorded from real runs of earlier builds without
// non-determinism: a change that alters the commands a workflow issues for a
// recorded history fails TestReplay_AllFixtures until it is guarded with
// workflow.GetVersion.
//
// testdata/ holds one history per path (a plain session, a risky step that
// succeeds, a risky step that is restored, continue-as-new, cancellation
// with cleanup, the idle timeout, a reaper run), each the protojson of a
// historypb.History as client.GetWorkflowHistory returns it, which is what
// worker.WorkflowReplayer.ReplayWorkflowHistoryFromJSONFile reads.
// testdata/v0/ keeps the session histories recorded before the
// "recorded-session-config" version (sessions that started then replay on
// the unversioned path); every fixture in both directories is replayed.
//
// The fixtures are recorded from real runs: an in-process Temporal server
// (tests/harness), a localsprites server and a real worker. To add a
// fixture for a new path, or to record again after a deliberate, versioned
// change (keep the old fixtures: they are the histories still running in
// production), run from the tests module:
//
//	cd tests && go test ./replay/ -run TestRecordFixtures -record -v
//
// (RECORD_FIXTURES=1 works too.) The recorder authenticates to localsprites
// with a recognisable fake token, and TestFixtures_HoldNoToken fails if it,
// any bearer header or anything shaped like a harness token appears
// anywhere in a fixture, payloads included.
package replay
