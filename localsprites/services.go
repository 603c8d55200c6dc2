package localsprites

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// serviceProc is a running service process. Its output goes to log files
// under the sprite's state directory and to the clients streaming events.
type serviceProc struct {
	name      string
	pid       int
	startedAt time.Time
	done      chan struct{}

	mu       sync.Mutex
	exitCode int
	subs     map[chan sprites.StreamEvent]struct{}
}

const defaultServiceStream = 5 * time.Second

func nowMillis() int64 { return time.Now().UnixMilli() }

func (p *serviceProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *serviceProc) kill() {
	if p.running() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}

func (p *serviceProc) unsubscribe(ch chan sprites.StreamEvent) {
	p.mu.Lock()
	delete(p.subs, ch)
	p.mu.Unlock()
}

// publish hands an event to every subscriber; a subscriber that does not
// keep up loses lines rather than stalling the service.
func (p *serviceProc) publish(ev sprites.StreamEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (sp *sprite) serviceLogPaths(name string) (combined, stdout, stderr string) {
	base := filepath.Join(sp.logsDir(), name)
	return base + ".log", base + ".stdout.log", base + ".stderr.log"
}

// logFiles are the paths the real service reports for a service's logs.
func logFiles(name string) map[string]string {
	base := "/.sprite/logs/services/" + name
	return map[string]string{"combined": base + ".log", "stdout": base + ".stdout.log", "stderr": base + ".stderr.log"}
}

// startServiceProc starts the named service. The caller holds sp.envMu.
// sub, when non-nil, receives the events from the very first line on.
func (sp *sprite) startServiceProc(name string, def sprites.Service, sub chan sprites.StreamEvent) (*serviceProc, error) {
	env := sp.environment(nil)
	for _, k := range slices.Sorted(maps.Keys(def.Env)) {
		env = append(env, k+"="+def.Env[k])
	}
	if def.HTTPPort != nil {
		env = append(env, "PORT="+strconv.Itoa(*def.HTTPPort))
	}
	cmd, err := sp.command(procSpec{Path: def.Cmd, Args: append([]string{def.Cmd}, def.Args...), Env: env, Dir: def.Dir})
	if err != nil {
		return nil, err
	}
	// opened collects what must be closed when the start fails half way.
	opened := slices.Clone(cmd.ExtraFiles)
	fail := func(err error) (*serviceProc, error) {
		for _, f := range opened {
			f.Close()
		}
		return nil, err
	}
	combinedPath, stdoutPath, stderrPath := sp.serviceLogPaths(name)
	var files []*os.File
	for _, p := range []string{combinedPath, stdoutPath, stderrPath} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fail(fmt.Errorf("service log: %w", err))
		}
		files = append(files, f)
		opened = append(opened, f)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("starting service %s: %w", name, err))
	}
	opened = append(opened, outR, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("starting service %s: %w", name, err))
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = startProc(cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		// startProc closed the extra files; the pipes' write ends are shut.
		opened = append(files, outR, errR)
		return fail(fmt.Errorf("starting service %s: %w", name, err))
	}
	p := &serviceProc{
		name:      name,
		pid:       cmd.Process.Pid,
		startedAt: time.Now().UTC(),
		done:      make(chan struct{}),
		subs:      map[chan sprites.StreamEvent]struct{}{},
	}
	if sub != nil {
		p.subs[sub] = struct{}{}
	}
	var logMu sync.Mutex
	var readers sync.WaitGroup
	pump := func(r io.ReadCloser, typ string, own *os.File) {
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			_, _ = own.WriteString(line + "\n")
			_, _ = files[0].WriteString(line + "\n")
			logMu.Unlock()
			p.publish(sprites.StreamEvent{Type: typ, Data: line + "\n", Timestamp: nowMillis()})
		}
		_, _ = io.Copy(io.Discard, r) // an over-long line: keep draining
	}
	readers.Go(func() { pump(outR, "stdout", files[1]) })
	readers.Go(func() { pump(errR, "stderr", files[2]) })
	go func() {
		_ = cmd.Wait()
		readers.Wait()
		for _, f := range files {
			f.Close()
		}
		code := exitCode(cmd.ProcessState)
		p.mu.Lock()
		p.exitCode = code
		p.mu.Unlock()
		p.publish(sprites.StreamEvent{Type: "exit", ExitCode: &code, Timestamp: nowMillis()})
		close(p.done)
		sp.srv.log.Info("service exited", "sprite", sp.meta.Name, "service", name, "code", code)
	}()
	sp.mu.Lock()
	sp.services[name] = p
	sp.mu.Unlock()
	sp.srv.log.Info("service started", "sprite", sp.meta.Name, "service", name, "pid", p.pid)
	return p, nil
}

// startServices starts every service not stopped on purpose and not
// running: after a restore and when a cold sprite wakes. The caller holds
// sp.envMu.
func (s *Server) startServices(sp *sprite) {
	sp.mu.Lock()
	type todo struct {
		name string
		def  sprites.Service
	}
	var start []todo
	for name, m := range sp.meta.Services {
		if p := sp.services[name]; m.Stopped || (p != nil && p.running()) {
			continue
		}
		start = append(start, todo{name, m.Def})
	}
	sp.mu.Unlock()
	for _, t := range start {
		if _, err := sp.startServiceProc(t.name, t.def, nil); err != nil {
			s.log.Warn("starting service", "sprite", sp.meta.Name, "service", t.name, "err", err)
		}
	}
}

// wake restarts the services of a sprite that was cold, as a booting VM
// would.
func (sp *sprite) wake() {
	sp.srv.bg.Go(func() {
		sp.envMu.RLock()
		defer sp.envMu.RUnlock()
		if !sp.isDeleted() {
			sp.srv.startServices(sp)
		}
	})
}

func (sp *sprite) serviceState(name string) sprites.ServiceWithState {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	m := sp.meta.Services[name]
	out := sprites.ServiceWithState{Name: name, Service: m.Def, State: &sprites.ServiceState{Name: name, Status: "stopped"}}
	if out.Args == nil {
		out.Args = []string{}
	}
	if out.Needs == nil {
		out.Needs = []string{}
	}
	p := sp.services[name]
	if p == nil {
		return out
	}
	if p.running() {
		started := p.startedAt
		out.State.Status, out.State.PID, out.State.StartedAt = "running", p.pid, &started
		return out
	}
	if m.Stopped {
		// A stop on purpose is sticky and is not a crash, whatever code the
		// signal left.
		return out
	}
	p.mu.Lock()
	if p.exitCode != 0 {
		out.State.Status, out.State.Error = "failed", fmt.Sprintf("exited with code %d", p.exitCode)
	}
	p.mu.Unlock()
	return out
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServiceList)
	if sp == nil {
		return
	}
	sp.mu.Lock()
	names := slices.Sorted(maps.Keys(sp.meta.Services))
	sp.mu.Unlock()
	out := make([]sprites.ServiceWithState, 0, len(names))
	for _, n := range names {
		out = append(out, sp.serviceState(n))
	}
	writeJSON(w, http.StatusOK, out)
}

// findService answers 404 itself when the service does not exist.
func (sp *sprite) findService(w http.ResponseWriter, name string) bool {
	sp.mu.Lock()
	_, ok := sp.meta.Services[name]
	sp.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "service not found: "+name)
	}
	return ok
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServiceGet)
	if sp == nil || !sp.findService(w, r.PathValue("svc")) {
		return
	}
	writeJSON(w, http.StatusOK, sp.serviceState(r.PathValue("svc")))
}

// putService creates or replaces a service, (re)starts it and streams its
// events for ?duration (default 5s).
func (s *Server) putService(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServicePut)
	if sp == nil {
		return
	}
	name := r.PathValue("svc")
	var def sprites.Service
	if err := decodeBody(r, &def); err != nil {
		writeText(w, http.StatusBadRequest, "invalid service definition: "+err.Error())
		return
	}
	// Service names follow the sprite name rules; they name log files.
	if def.Cmd == "" || sprites.ValidateName(name) != nil {
		writeText(w, http.StatusBadRequest, "a service needs a valid name and a cmd")
		return
	}
	duration, err := streamDuration(r.URL.Query().Get("duration"))
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	if !sp.acquire(w) {
		return
	}
	release := sync.OnceFunc(sp.release)
	defer release()
	sp.mu.Lock()
	if def.HTTPPort != nil {
		for other, m := range sp.meta.Services {
			if other != name && m.Def.HTTPPort != nil {
				sp.mu.Unlock()
				writeText(w, http.StatusConflict, "another service already has an HTTP port configured: "+other)
				return
			}
		}
	}
	if sp.meta.Services == nil {
		sp.meta.Services = map[string]*svcMeta{}
	}
	sp.meta.Services[name] = &svcMeta{Def: def}
	err = sp.saveLocked()
	old := sp.services[name]
	sp.mu.Unlock()
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	if old != nil && old.running() {
		s.stopProc(old, 5*time.Second)
	}
	s.runAndStream(r.Context(), w, sp, name, def, duration, release)
}

func streamDuration(v string) (time.Duration, error) {
	if v == "" {
		return defaultServiceStream, nil
	}
	d, err := parseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q", v)
	}
	return d, nil
}

// runAndStream starts the service and streams started, its output, exit
// (if it ends meanwhile) and complete with the log files. The caller has
// acquired the sprite; release is called once the process started, before
// the stream: a stream lasts as long as its client asks (?duration) and
// must not hold up the sprite's delete or restore meanwhile.
func (s *Server) runAndStream(ctx context.Context, w http.ResponseWriter, sp *sprite, name string, def sprites.Service, duration time.Duration, release func()) {
	events := make(chan sprites.StreamEvent, 256)
	p, err := sp.startServiceProc(name, def, events)
	release()
	if err != nil {
		if errors.Is(err, errBadDir) {
			writeText(w, http.StatusBadRequest, err.Error())
		} else {
			writeText(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	defer p.unsubscribe(events)
	out := sprites.NewStreamWriter(w)
	w.WriteHeader(http.StatusOK)
	_ = out.Write(sprites.StreamEvent{Type: "started", Timestamp: nowMillis()})
	timer := time.NewTimer(duration)
	defer timer.Stop()
loop:
	for {
		select {
		case ev := <-events:
			_ = out.Write(ev)
			if ev.Type == "exit" {
				break loop
			}
		case <-timer.C:
			break loop
		case <-ctx.Done():
			return
		}
	}
	writeComplete(w, name)
}

// writeComplete writes the terminal event of a service stream.
func writeComplete(w http.ResponseWriter, name string) {
	_ = sprites.NewStreamWriter(w).Write(sprites.StreamEvent{Type: "complete", Timestamp: nowMillis(), LogFiles: logFiles(name)})
}

func (s *Server) startService(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServiceStart)
	name := r.PathValue("svc")
	if sp == nil || !sp.findService(w, name) {
		return
	}
	duration, err := streamDuration(r.URL.Query().Get("duration"))
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	if !sp.acquire(w) {
		return
	}
	release := sync.OnceFunc(sp.release)
	defer release()
	sp.mu.Lock()
	m := sp.meta.Services[name]
	if m == nil { // deleted since findService
		sp.mu.Unlock()
		writeError(w, http.StatusNotFound, "service not found: "+name)
		return
	}
	m.Stopped = false
	_ = sp.saveLocked()
	p := sp.services[name]
	sp.mu.Unlock()
	if p != nil && p.running() {
		out := sprites.NewStreamWriter(w)
		w.WriteHeader(http.StatusOK)
		_ = out.Write(sprites.StreamEvent{Type: "started", Data: "already running", Timestamp: nowMillis()})
		writeComplete(w, name)
		return
	}
	s.runAndStream(r.Context(), w, sp, name, m.Def, duration, release)
}

// stopProc sends SIGTERM to the service's process group, then SIGKILL after
// timeout; it reports whether SIGKILL was needed.
func (s *Server) stopProc(p *serviceProc, timeout time.Duration) bool {
	s.signalGroup(p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
	return true
}

// stopService stops a running service; the stop is sticky (no restart on
// wake or restore).
func (s *Server) stopService(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServiceStop)
	name := r.PathValue("svc")
	if sp == nil || !sp.findService(w, name) {
		return
	}
	timeout := 10 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			writeText(w, http.StatusBadRequest, "invalid timeout")
			return
		}
		timeout = d
	}
	sp.mu.Lock()
	m := sp.meta.Services[name]
	if m == nil { // deleted since findService
		sp.mu.Unlock()
		writeError(w, http.StatusNotFound, "service not found: "+name)
		return
	}
	p := sp.services[name]
	m.Stopped = true
	_ = sp.saveLocked()
	sp.mu.Unlock()
	if p == nil || !p.running() {
		writeText(w, http.StatusConflict, "service is not running: "+name)
		return
	}
	out := sprites.NewStreamWriter(w)
	w.WriteHeader(http.StatusOK)
	_ = out.Write(sprites.StreamEvent{Type: "stopping", Timestamp: nowMillis()})
	s.stopProc(p, timeout)
	p.mu.Lock()
	code := p.exitCode
	p.mu.Unlock()
	_ = out.Write(sprites.StreamEvent{Type: "exit", ExitCode: &code, Timestamp: nowMillis()})
	_ = out.Write(sprites.StreamEvent{Type: "stopped", Timestamp: nowMillis()})
	writeComplete(w, name)
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServiceDelete)
	name := r.PathValue("svc")
	if sp == nil || !sp.findService(w, name) {
		return
	}
	sp.mu.Lock()
	p := sp.services[name]
	delete(sp.services, name)
	delete(sp.meta.Services, name)
	err := sp.saveLocked()
	sp.mu.Unlock()
	if p != nil && p.running() {
		s.stopProc(p, 5*time.Second)
	}
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) signalService(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opServiceSignal)
	if sp == nil {
		return
	}
	var req struct {
		Name   string `json:"name"`
		Signal string `json:"signal"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeText(w, http.StatusBadRequest, "invalid body: "+err.Error())
		return
	}
	sig, ok := parseSignal(req.Signal)
	if !ok {
		writeText(w, http.StatusBadRequest, "invalid signal: "+req.Signal)
		return
	}
	if !sp.findService(w, req.Name) {
		return
	}
	sp.mu.Lock()
	p := sp.services[req.Name]
	sp.mu.Unlock()
	if p == nil || !p.running() {
		writeText(w, http.StatusConflict, "service is not running: "+req.Name)
		return
	}
	s.signalGroup(p.pid, sig)
	w.WriteHeader(http.StatusNoContent)
}
