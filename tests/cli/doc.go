// Package cli holds the end-to-end tests of the sprite-sessions command: the
// binary is built once and run as a subprocess against a real Temporal
// server, localsprites and a worker (tests/harness).
package cli
