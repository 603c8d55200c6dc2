// Package worker is the sprite-sessions worker process: configuration from
// the environment, the Temporal worker with the session and reaper
// workflows, Prometheus metrics, health endpoints and graceful shutdown. It
// is importable so that dev/ and tests/ can run the worker in-process; the
// binary is worker/cmd/worker, and Run is all it calls.
//
// # Metrics
//
// One registry, served on /metrics, holds three sources. Counters are
// exported with the suffix _total, timers as histograms in seconds (suffix
// _seconds, buckets 5ms to 1h), gauges as they are.
//
// The SDK's own series (temporal_*), through the client.MetricsHandler that
// Metrics.Handler returns, with the SDK's tags (namespace, task_queue,
// workflow_type, activity_type, ...). One name may carry different label
// sets (sdk-go#1450); each set is its own series.
//
// Workflow-side domain series, emitted through workflow.GetMetricsHandler,
// which records nothing while a workflow replays:
//
//	sprite_sessions_session_started_total       sessions started        (workflows)
//	sprite_sessions_session_ended_total         sessions ended, reason  (workflows)
//	sprite_sessions_update_total                updates by update and outcome: checkpoints
//	                                            (update="Checkpoint") and restores
//	                                            (update="RestoreCheckpoint") are here (workflows)
//	sprite_sessions_risky_step_total            sagas by outcome        (workflows)
//	sprite_sessions_cleanup_sprite_total        cleanup deletes by outcome; outcome="failed"
//	                                            counts cleanup failures (workflows)
//	sprite_sessions_reaper_orphans_found_total  orphans found           (reaper)
//	sprite_sessions_reaper_orphans_deleted_total orphans reaped         (reaper)
//	sprite_sessions_reaper_delete_failed_total  orphan deletes failed   (reaper)
//	sprite_sessions_reaper_owner_lookup_failed_total owners Temporal could not describe (reaper)
//
// API-side domain series, from InstrumentTransport around the Sprites
// client's HTTP client: real calls of this process, never replayed. Labels
// are method, a normalised route and status; never a name, URL or token.
//
//	sprite_sessions_sprites_api_requests_total          calls by method, route, status
//	sprite_sessions_sprites_api_request_duration_seconds latency by method, route, status
//	sprite_sessions_sprites_created_total               sprites this process created
//	sprite_sessions_sprites_deleted_total               sprites this process deleted
//	sprite_sessions_sprites_live                        created minus deleted, this
//	                                                    process's view (sum over workers)
//
// Go runtime and process collectors complete the registry.
//
// # Health
//
// /healthz answers 200 while the process serves HTTP. /readyz answers 200
// when the worker has started polling and is not stopping, Temporal answers
// its health check and the Sprites API answers an authenticated list of one
// sprite; the dependency verdict is cached for five seconds.
package worker
