// Package process tests the worker as an operator runs it: the real binary
// (worker/cmd/worker), built once per test run, started as a child process
// against an in-process Temporal server and a localsprites server, and
// configured only through its environment. The tests cover the health and
// readiness endpoints, the Prometheus scrape after real sessions, a SIGTERM
// in the middle of an exec (the process exits 0 and the next process
// finishes the exec without running it again) and the absence of the
// Sprites token from everything the process prints.
package process
