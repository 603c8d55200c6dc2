// Package e2e holds the end-to-end tests of sprite-sessions: every test
// starts the whole system with package harness (a real Temporal server, a
// real localsprites server, a worker) and talks to it over gRPC, HTTP and
// WebSocket, without mocks. Every test ends with the leak audit: no sprite
// is left on the backend.
package e2e
