// Package sprites is a Go client for the Fly.io Sprites HTTP and WebSocket API.
//
// Every call takes a context. The client never retries: retries belong to the
// caller (in sprite-sessions, to Temporal). Errors returned for non-2xx answers
// are *APIError values; errors.Is(err, ErrNotFound) reports a missing sprite,
// checkpoint, session or file, including the 500 answers the real service gives
// today for a missing sprite.
//
// The package also holds the wire formats shared with localsprites: the JSON
// types, the one HTTP error shape, the one NDJSON stream reader and writer, and
// the one exec frame codec.
package sprites
