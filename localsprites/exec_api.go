package localsprites

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// maxStdinMessage bounds one stdin message from an exec client.
const maxStdinMessage = 16 << 20

// headExec answers the version probe the Go SDK makes.
func (s *Server) headExec(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}

// execOrList serves GET .../exec: a WebSocket upgrade starts a command (or
// attaches, with the legacy ?id= form); a plain GET lists the sessions.
func (s *Server) execOrList(w http.ResponseWriter, r *http.Request) {
	if !isWebSocket(r) {
		if r, ok := s.inject(opExecList, w, r); ok {
			s.listSessions(w, r)
		}
		return
	}
	if id := r.URL.Query().Get("id"); id != "" {
		if r, ok := s.inject(opExecAttach, w, r); ok {
			s.attach(w, r, id)
		}
		return
	}
	if r, ok := s.inject(opExec, w, r); ok {
		s.execWS(w, r)
	}
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// execParams are the query parameters shared by WebSocket and HTTP exec.
type execParams struct {
	spec     procSpec
	stdin    bool
	maxAfter time.Duration
}

func parseExecParams(q url.Values) (execParams, error) {
	var p execParams
	p.spec.Args = q["cmd"]
	if len(p.spec.Args) == 0 {
		return p, errors.New("cmd is required")
	}
	p.spec.Path = q.Get("path")
	p.spec.Dir = q.Get("dir")
	if q.Has("env") {
		p.spec.Env = q["env"]
		for _, kv := range p.spec.Env {
			if !strings.Contains(kv, "=") {
				return p, errors.New("env entries must be KEY=VALUE")
			}
		}
	}
	if b, _ := strconv.ParseBool(q.Get("tty")); b {
		return p, errors.New("tty sessions are not supported by localsprites")
	}
	p.stdin, _ = strconv.ParseBool(q.Get("stdin"))
	p.maxAfter = defaultMaxRunAfterDisconnect
	if v := q.Get("max_run_after_disconnect"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return p, errors.New("max_run_after_disconnect: " + err.Error())
		}
		p.maxAfter = d
	}
	return p, nil
}

// parseDuration reads a Go duration or a whole number of seconds.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// start starts a session for an exec request, answering the error itself
// when it cannot.
func (s *Server) start(w http.ResponseWriter, r *http.Request, op string) (*session, execParams, bool) {
	sp := s.lookup(w, r, op)
	if sp == nil {
		return nil, execParams{}, false
	}
	p, err := parseExecParams(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, p, false
	}
	if !sp.acquire(w) {
		return nil, p, false
	}
	defer sp.release()
	ss, err := sp.startSession(p.spec, p.stdin, p.maxAfter)
	switch {
	case errors.Is(err, errBadDir):
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, p, false
	case err != nil:
		s.log.Error("exec", "sprite", sp.meta.Name, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, p, false
	}
	return ss, p, true
}

func (s *Server) execWS(w http.ResponseWriter, r *http.Request) {
	ss, _, ok := s.start(w, r, opExec)
	if !ok {
		return
	}
	s.serveSocket(w, r, ss, true)
}

func (s *Server) attachExec(w http.ResponseWriter, r *http.Request) {
	s.attach(w, r, r.PathValue("id"))
}

func (s *Server) attach(w http.ResponseWriter, r *http.Request, idText string) {
	sp := s.lookup(w, r, opExecAttach)
	if sp == nil {
		return
	}
	ss := sp.findSession(idText)
	if ss == nil {
		writeError(w, http.StatusNotFound, "session not found")
		return
	}
	s.serveSocket(w, r, ss, false)
}

func (sp *sprite) findSession(idText string) *session {
	id, err := strconv.Atoi(idText)
	if err != nil {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.sessions[id]
}

// serveSocket runs one client of a session over a WebSocket: session_info,
// every kept frame, live frames, then the exit frame. Stdin and signals
// flow the other way. A client that goes away detaches; the process keeps
// running for max_run_after_disconnect.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request, ss *session, owner bool) {
	reader := ss.attach()
	defer ss.detach(reader)
	w.Header().Set("X-Sprite-Capabilities", "signal")
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		s.log.Debug("exec upgrade failed", "session", ss.id, "err", err)
		return
	}
	c.SetReadLimit(maxStdinMessage)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	if err := writeControl(ctx, c, ss.sessionInfo(owner)); err != nil {
		c.CloseNow()
		return
	}
	if dropRequested(r) {
		s.log.Info("dropping exec socket (injected fault)", "session", ss.id)
		c.CloseNow()
		return
	}

	clientGone := make(chan struct{})
	go func() {
		defer close(clientGone)
		defer cancel()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageText {
				if m, err := sprites.DecodeControl(msg); err == nil && m.Type == "signal" {
					if sig, ok := parseSignal(m.Signal); ok {
						ss.signal(sig)
					}
				}
				continue
			}
			stream, payload, err := sprites.DecodeFrame(msg)
			if err != nil {
				continue
			}
			switch stream {
			case sprites.StreamStdin:
				ss.writeStdin(payload)
			case sprites.StreamStdinEOF:
				ss.closeStdin()
			}
		}
	}()

	var cursor int64
	for {
		frames, next, done, changed := ss.next(reader, cursor)
		for _, f := range frames {
			if err := writeFrame(ctx, c, f); err != nil {
				c.CloseNow()
				return
			}
		}
		cursor = next
		if done {
			break
		}
		if len(frames) > 0 {
			continue // say what was sent: a pump may wait for it
		}
		select {
		case <-changed:
		case <-ctx.Done():
			c.CloseNow()
			return
		}
	}
	_, code := ss.result()
	if err := writeFrame(ctx, c, sprites.ExitFrame(code)); err != nil {
		c.CloseNow()
		return
	}
	if hold := s.cfg.Quirks.ExecHoldAfterExit; hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-clientGone:
		}
		t.Stop()
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
}

// writeTimeout bounds one write to an exec client; a client that does not
// read for that long is dropped (its session stays attachable).
const writeTimeout = 30 * time.Second

func writeFrame(ctx context.Context, c *websocket.Conn, f []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageBinary, f)
}

func writeControl(ctx context.Context, c *websocket.Conn, m sprites.ControlMessage) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, raw)
}

// execHTTP is the non-interactive POST exec: the request body is stdin and
// the response is the same frames as the WebSocket, each written and
// flushed as its own chunk, ending with the exit frame.
func (s *Server) execHTTP(w http.ResponseWriter, r *http.Request) {
	ss, p, ok := s.start(w, r, opExecHTTP)
	if !ok {
		return
	}
	reader := ss.attach()
	defer ss.detach(reader)
	if p.stdin {
		// Output flows while stdin is still arriving. Without full duplex,
		// an HTTP/1 server discards the unread body at the first flush (or
		// blocks reading it), cutting the command's stdin.
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.log.Debug("exec: full duplex", "err", err)
		}
		go ss.copyStdin(r.Body)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	ctx := r.Context()
	var cursor int64
	for {
		frames, next, done, changed := ss.next(reader, cursor)
		for _, f := range frames {
			if _, err := w.Write(f); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		cursor = next
		if done {
			break
		}
		if len(frames) > 0 {
			continue // say what was sent: a pump may wait for it
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
	_, code := ss.result()
	_, _ = w.Write(sprites.ExitFrame(code))
	if flusher != nil {
		flusher.Flush()
	}
}

// listSessions lists the sprite's running sessions.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opExecList)
	if sp == nil {
		return
	}
	sp.mu.Lock()
	live := make([]*session, 0, len(sp.sessions))
	for _, ss := range sp.sessions {
		if !ss.isExited() {
			live = append(live, ss)
		}
	}
	sp.mu.Unlock()
	out := sprites.SessionList{Sessions: []sprites.ExecSession{}}
	for _, ss := range live {
		out.Sessions = append(out.Sessions, ss.info())
	}
	slices.SortFunc(out.Sessions, func(a, b sprites.ExecSession) int { return a.Created.Compare(b.Created) })
	writeJSON(w, http.StatusOK, out)
}
