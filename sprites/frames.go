package sprites

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Stream bytes of the non-TTY exec framing: every binary WebSocket message
// (and every HTTP exec chunk) is one stream byte followed by its payload.
const (
	StreamStdin    byte = 0x00
	StreamStdout   byte = 0x01
	StreamStderr   byte = 0x02
	StreamExit     byte = 0x03
	StreamStdinEOF byte = 0x04
)

// EncodeFrame returns stream followed by payload.
func EncodeFrame(stream byte, payload []byte) []byte {
	b := make([]byte, 1+len(payload))
	b[0] = stream
	copy(b[1:], payload)
	return b
}

// ExitFrame is the frame that carries an exit code (0-255).
func ExitFrame(code int) []byte {
	return []byte{StreamExit, byte(code)}
}

// errEmptyFrame is returned for an empty binary message, which peers ignore.
var errEmptyFrame = errors.New("sprites: empty frame")

// DecodeFrame splits a binary message into its stream byte and payload.
// For an exit frame the payload is the code byte; a missing byte means 0.
func DecodeFrame(msg []byte) (stream byte, payload []byte, err error) {
	if len(msg) == 0 {
		return 0, nil, errEmptyFrame
	}
	return msg[0], msg[1:], nil
}

// ExitCodeOf reads the exit code from an exit frame's payload.
func ExitCodeOf(payload []byte) int {
	if len(payload) == 0 {
		return 0
	}
	return int(payload[0])
}

// ControlMessage is a JSON text message on the exec socket, in either
// direction: session_info, exit, resize, signal, port_opened, port_closed.
type ControlMessage struct {
	Type      string `json:"type"`
	SessionID int64  `json:"session_id,omitempty"`
	Command   string `json:"command,omitempty"`
	Created   int64  `json:"created,omitempty"`
	Cols      int    `json:"cols,omitempty"`
	Rows      int    `json:"rows,omitempty"`
	IsOwner   bool   `json:"is_owner"`
	TTY       bool   `json:"tty"`
	ExitCode  *int   `json:"exit_code,omitempty"`
	Signal    string `json:"signal,omitempty"`
	Port      int    `json:"port,omitempty"`
	Address   string `json:"address,omitempty"`
	PID       int    `json:"pid,omitempty"`
}

// DecodeControl parses a JSON text message. Text frames of the control
// channel (prefix "control:") are reported with Type "control".
func DecodeControl(msg []byte) (ControlMessage, error) {
	if len(msg) >= 8 && string(msg[:8]) == "control:" {
		return ControlMessage{Type: "control"}, nil
	}
	var m ControlMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return m, fmt.Errorf("sprites: bad exec text message %q: %w", truncate(msg, 200), err)
	}
	return m, nil
}
