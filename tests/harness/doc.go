// Package harness assembles the whole system for end-to-end tests: a real
// Temporal server (go.temporal.io/server/temporaltest), a real localsprites
// server, a sprites client for it, a worker with every workflow and activity
// registered, and a starter client for that worker's task queue. Everything
// binds 127.0.0.1 on free ports and is stopped by t.Cleanup.
//
// A typical test:
//
//	env := harness.New(t)
//	s := env.Starter.Session("my-session")
//	_, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"})
//	...
//	env.AssertNoSprites(t) // the leak audit every e2e test ends with
//
// Options change the backend (WithSandbox, WithQuirks, WithFaults), the
// Temporal server (WithDynamicConfig), the worker (WithoutWorker,
// WithWorkerOptions, WithActivityOptions) and the sessions the Starter
// starts (WithSessionConfig). StopWorker and StartWorker simulate a worker
// crash and restart.
//
// Methods that take a testing.TB report failures on it; call them from the
// goroutine of that test.
package harness
