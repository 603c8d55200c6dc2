package sprites

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// httpExecReadSize is the read buffer of ExecHTTP. A read that fills it is
// taken to continue the same frame.
const httpExecReadSize = 256 << 10

// ExecHTTP runs a command with the non-interactive POST exec and returns its
// output and exit code. A non-zero exit is reported in exitCode with a nil
// error; an answer that ends without the exit frame is a
// *ConnectionLostError. env (KEY=VALUE), when non-nil, replaces the default
// environment; stdin, when non-nil, is sent as the request body.
//
// The answer has no length prefixes: each HTTP chunk is one frame. Go's
// HTTP client hands over whole chunks but may join several in one read
// (and HTTP/2 has no chunks at all), so output of joined frames can land in
// the wrong stream; the final exit frame is always found. Use Command for
// output that must be split exactly.
func (c *Client) ExecHTTP(ctx context.Context, sprite string, args []string, env []string, dir string, stdin io.Reader) (stdout, stderr []byte, exitCode int, err error) {
	if err := ValidateName(sprite); err != nil {
		return nil, nil, -1, err
	}
	if len(args) == 0 {
		return nil, nil, -1, fmt.Errorf("sprites: exec in %s: no command: %w", sprite, ErrInvalid)
	}
	op := "exec in " + sprite
	q := url.Values{"cmd": args, "path": {args[0]}}
	for _, e := range env {
		q.Add("env", e)
	}
	if dir != "" {
		q.Set("dir", dir)
	}
	var body any
	if stdin != nil {
		q.Set("stdin", "true")
		body = stdin
	}
	req, err := c.newRequest(ctx, http.MethodPost, spritePath(sprite, "exec"), q, body)
	if err != nil {
		return nil, nil, -1, err
	}
	resp, err := c.doStream(op, req, http.StatusOK)
	if err != nil {
		return nil, nil, -1, err
	}
	defer resp.Body.Close()

	var p httpFrameParser
	buf := make([]byte, httpExecReadSize)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			p.feed(buf[:n], n == len(buf))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, nil, -1, &ConnectionLostError{Err: fmt.Errorf("sprites: %s: reading answer: %w", op, rerr)}
		}
	}
	return p.finish(op)
}

// httpFrame is one frame of the HTTP exec answer as the reads delimit it.
type httpFrame struct {
	stream  byte
	payload []byte
}

// httpFrameParser rebuilds frames from the reads of a chunked body: a read
// starts a frame unless the previous read filled the buffer.
type httpFrameParser struct {
	frames []httpFrame
	cont   bool
}

func (p *httpFrameParser) feed(b []byte, full bool) {
	if p.cont && len(p.frames) > 0 {
		last := &p.frames[len(p.frames)-1]
		last.payload = append(last.payload, b...)
	} else {
		stream, payload, err := DecodeFrame(b)
		if err == nil {
			p.frames = append(p.frames, httpFrame{stream: stream, payload: bytes.Clone(payload)})
		}
	}
	p.cont = full
}

// errNoExitFrame is the cause of a *ConnectionLostError from ExecHTTP.
var errNoExitFrame = errors.New("the answer ended without an exit frame")

// finish finds the exit code: a last frame that is an exit frame, or else
// the last two bytes of the answer when they are 0x03 and a code (the exit
// frame joined to the output before it).
func (p *httpFrameParser) finish(op string) (stdout, stderr []byte, exitCode int, err error) {
	exitCode = -1
	if n := len(p.frames); n > 0 && p.frames[n-1].stream == StreamExit && len(p.frames[n-1].payload) <= 1 {
		exitCode = ExitCodeOf(p.frames[n-1].payload)
		p.frames = p.frames[:n-1]
	} else if tail := p.tail(2); len(tail) == 2 && tail[0] == StreamExit {
		exitCode = int(tail[1])
		p.trim(2)
	} else {
		return nil, nil, -1, &ConnectionLostError{Err: fmt.Errorf("sprites: %s: %w", op, errNoExitFrame)}
	}
	var out, errOut bytes.Buffer
	for _, f := range p.frames {
		switch f.stream {
		case StreamStdout:
			out.Write(f.payload)
		case StreamStderr:
			errOut.Write(f.payload)
		}
	}
	return out.Bytes(), errOut.Bytes(), exitCode, nil
}

// tail returns the last n bytes of the answer as sent (stream bytes
// included).
func (p *httpFrameParser) tail(n int) []byte {
	var rev []byte
	for i := len(p.frames) - 1; i >= 0 && len(rev) < n; i-- {
		f := p.frames[i]
		for j := len(f.payload) - 1; j >= 0 && len(rev) < n; j-- {
			rev = append(rev, f.payload[j])
		}
		if len(rev) < n {
			rev = append(rev, f.stream)
		}
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// trim drops the last n bytes of the answer as sent.
func (p *httpFrameParser) trim(n int) {
	for n > 0 && len(p.frames) > 0 {
		last := &p.frames[len(p.frames)-1]
		if raw := 1 + len(last.payload); raw <= n {
			p.frames = p.frames[:len(p.frames)-1]
			n -= raw
			continue
		}
		last.payload = last.payload[:len(last.payload)-n]
		n = 0
	}
}
