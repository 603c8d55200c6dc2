// Package localsprites is a Sprites-compatible HTTP and WebSocket server that
// runs sprites on the local machine for real.
//
// A sprite is a directory under the state directory: its home (seen by its
// processes as /home/sprite when bubblewrap is installed), its checkpoints
// (real copies of the home) and a JSON metadata file. Exec runs real
// processes; restore really replaces the files and kills the sprite's
// processes. It is the backend of `go run ./dev` and of the end-to-end tests,
// and a tool for developing against the Sprites API offline.
//
// Wire formats (JSON types, error bodies, NDJSON streams, exec frames) come
// from package sprites, so the client and this server cannot drift apart.
//
// Known gaps, on purpose: network policies are stored but not enforced; TTY
// exec is not supported (tty=true answers 400); processes run as the
// server's user; in plain mode (no bubblewrap) a sprite's processes see the
// host filesystem and their home is the real directory, not /home/sprite.
// README.md lists the rest, with checkpoint and restore figures.
package localsprites
