// Package bench measures the costs that the design's performance direction
// talks about, on the whole system (an in-process Temporal server,
// localsprites and a real worker, from tests/harness): the round trip of
// one small update through the starter, the same under 20 concurrent
// sessions, and checkpoint and restore of workspaces of different shapes
// as session updates.
//
// The package holds only benchmarks (and a test of its own arithmetic), so
// plain `go test` runs none of them. Run them from the tests module:
//
//	cd tests && go test -run '^$' -bench SessionUpdate -benchtime 200x ./bench/
//	cd tests && go test -run '^$' -bench CheckpointRestore -benchtime 5x ./bench/
//
// Keep CheckpointRestore's -benchtime small: every iteration keeps a
// checkpoint of up to 100 MB in the benchmark's temporary directory.
//
// Besides ns/op they report mean_ms, p50_ms and p95_ms of the round trip,
// events/update (history events one update adds), calls/s, and
// checkpoint_ms and restore_ms.
package bench
