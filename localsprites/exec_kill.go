package localsprites

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

const defaultKillTimeout = 10 * time.Second

var signals = map[string]syscall.Signal{
	"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP,
	"KILL": syscall.SIGKILL, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// parseSignal accepts TERM, SIGTERM, sigterm and numbers.
func parseSignal(s string) (syscall.Signal, bool) {
	s = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), true
	}
	sig, ok := signals[s]
	return sig, ok
}

func signalName(sig syscall.Signal) string {
	for name, v := range signals {
		if v == sig {
			return "SIG" + name
		}
	}
	return strconv.Itoa(int(sig))
}

// killOptions reads the signal and timeout from the query (Go SDK) or a
// JSON body (Python and Ruby SDKs); timeout is seconds or a duration.
func killOptions(r *http.Request) (syscall.Signal, time.Duration, error) {
	q := r.URL.Query()
	sigText, timeoutText := q.Get("signal"), q.Get("timeout")
	var body sprites.KillRequest
	if err := decodeBody(r, &body); err != nil {
		return 0, 0, fmt.Errorf("invalid request body: %w", err)
	}
	if sigText == "" {
		sigText = body.Signal
	}
	if timeoutText == "" {
		switch t := body.Timeout.(type) {
		case float64:
			timeoutText = strconv.FormatFloat(t, 'f', -1, 64) + "s"
		case string:
			timeoutText = t
		}
	}
	sig := syscall.SIGTERM
	if sigText != "" {
		var ok bool
		if sig, ok = parseSignal(sigText); !ok {
			return 0, 0, fmt.Errorf("unknown signal %q", sigText)
		}
	}
	timeout := defaultKillTimeout
	if timeoutText != "" {
		d, err := parseDuration(timeoutText)
		if err != nil {
			return 0, 0, fmt.Errorf("invalid timeout %q", timeoutText)
		}
		if d > 0 {
			timeout = d
		}
	}
	return sig, timeout, nil
}

// killSession signals a session's process group and streams what happens:
// signal, then exited (or timeout and killed), then complete with the exit
// code. A session that already exited answers 410.
func (s *Server) killSession(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opExecKill)
	if sp == nil {
		return
	}
	ss := sp.findSession(r.PathValue("id"))
	if ss == nil {
		writeError(w, http.StatusNotFound, "session not found")
		return
	}
	sig, timeout, err := killOptions(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if ss.isExited() {
		writeError(w, http.StatusGone, "session already exited")
		return
	}
	out := sprites.NewStreamWriter(w)
	w.WriteHeader(http.StatusOK)
	name := signalName(sig)
	_ = out.Write(sprites.StreamEvent{
		Type:    "signal",
		Message: fmt.Sprintf("Signaling %s to process group %d", name, ss.id),
		Signal:  name,
		PID:     ss.id,
	})
	ss.signal(sig)
	select {
	case <-ss.exited:
		_ = out.Write(sprites.StreamEvent{Type: "exited", Message: "Process exited"})
	case <-time.After(timeout):
		_ = out.Write(sprites.StreamEvent{Type: "timeout", Message: fmt.Sprintf("Timeout after %s, sending SIGKILL", timeout)})
		ss.signal(syscall.SIGKILL)
		select {
		case <-ss.exited:
			_ = out.Write(sprites.StreamEvent{Type: "killed", Message: "Process killed"})
		case <-time.After(5 * time.Second):
			_ = out.Write(sprites.StreamEvent{Type: "error", Message: "process did not exit after SIGKILL"})
			return
		}
	}
	code := waitResult(ss)
	_ = out.Write(sprites.StreamEvent{Type: "complete", ExitCode: &code})
}

// waitResult waits (briefly) for the exit code after the process was reaped.
func waitResult(ss *session) int {
	deadline := time.After(2 * exitGrace)
	for {
		finished, code, changed := ss.resultOrWait()
		if finished {
			return code
		}
		select {
		case <-changed:
		case <-deadline:
			return exitCode(ss.cmd.ProcessState)
		}
	}
}
