// Package spritestest is the conformance suite of the sprites client: one
// set of behaviours, taken from the Sprites API reference, that every
// backend the client talks to must show through it. It runs against
// localsprites (with and without bubblewrap, with and without the quirks of
// the real service) and can be pointed at any other backend, including the
// real API, by handing Run a Backend.
//
// The suite only uses the public client, so a behaviour that differs
// between backends shows up as a failing subtest rather than as a special
// case in the suite.
package spritestest
