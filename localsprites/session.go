package localsprites

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// session is one exec'd process: its output is kept (up to a limit) so
// that clients can attach, drop and re-attach and still see everything.
type session struct {
	sp       *sprite
	id       int // the PID; the API's session ID
	cmd      *exec.Cmd
	command  string
	workdir  string
	created  time.Time
	maxAfter time.Duration // life after the last client left; 0 = forever
	limit    int           // bytes of output kept

	stdinMu sync.Mutex
	stdin   *os.File // nil when closed or never opened

	exited chan struct{} // closed when the process has been reaped

	mu       sync.Mutex
	frames   [][]byte // encoded frames, oldest first
	firstSeq int64    // sequence number of frames[0]
	bufBytes int
	changed  chan struct{} // closed and replaced on every change
	finished bool          // exit code known and output drained
	exitCode int
	// readers maps each attached client to the sequence number of the
	// next frame it will send. Output is dropped only once every attached
	// client has sent it; until then a full buffer holds the pumps, and so
	// the command, back (a slow client slows the command, as a slow
	// terminal does). Without clients the buffer keeps the newest output,
	// for a client that re-attaches. Its size is the number of clients.
	readers      map[int]int64
	nextReader   int
	consumed     chan struct{} // closed and replaced when a reader advances or leaves
	stalled      int           // pumps waiting for a reader
	totalBytes   int64
	lastActivity time.Time
	detachTimer  *time.Timer
}

// exitGrace is how long output is still collected after the process exits,
// for pipes held open by its background children.
const exitGrace = 200 * time.Millisecond

// startSession starts spec in sp. The caller holds sp.envMu for reading.
func (sp *sprite) startSession(spec procSpec, withStdin bool, maxAfter time.Duration) (*session, error) {
	cmd, err := sp.command(spec)
	if err != nil {
		return nil, err
	}
	// opened collects what must be closed when the start fails half way.
	opened := slices.Clone(cmd.ExtraFiles)
	fail := func(err error) (*session, error) {
		for _, f := range opened {
			f.Close()
		}
		return nil, fmt.Errorf("exec: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	opened = append(opened, outR, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	opened = append(opened, errR, errW)
	var inR, inW *os.File
	if withStdin {
		if inR, inW, err = os.Pipe(); err != nil {
			return fail(err)
		}
		cmd.Stdin = inR
	}
	cmd.Stdout, cmd.Stderr = outW, errW

	sp.begin()
	err = startProc(cmd)
	outW.Close()
	errW.Close()
	if inR != nil {
		inR.Close()
	}
	if err != nil {
		sp.end()
		outR.Close()
		errR.Close()
		if inW != nil {
			inW.Close()
		}
		return nil, fmt.Errorf("exec: starting %s: %w", spec.Args[0], err)
	}
	dir := spec.Dir
	if dir == "" {
		dir = spriteHome
	}
	now := time.Now().UTC()
	ss := &session{
		sp:           sp,
		id:           cmd.Process.Pid,
		cmd:          cmd,
		command:      strings.Join(spec.Args, " "),
		workdir:      dir,
		created:      now,
		maxAfter:     maxAfter,
		limit:        sp.srv.cfg.SessionBufferBytes,
		stdin:        inW,
		exited:       make(chan struct{}),
		changed:      make(chan struct{}),
		consumed:     make(chan struct{}),
		readers:      map[int]int64{},
		lastActivity: now,
	}
	sp.mu.Lock()
	sp.sessions[ss.id] = ss
	sp.mu.Unlock()

	var readers sync.WaitGroup
	readers.Go(func() { ss.pump(outR, sprites.StreamStdout) })
	readers.Go(func() { ss.pump(errR, sprites.StreamStderr) })
	go ss.wait(&readers)
	sp.srv.log.Debug("exec started", "sprite", sp.meta.Name, "session", ss.id, "cmd", ss.command)
	return ss, nil
}

// pump copies one output pipe into the buffer until EOF. Output that
// arrives after the exit frame (from background children holding the pipe)
// is read and dropped, so those children never get SIGPIPE.
func (ss *session) pump(r *os.File, stream byte) {
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			ss.append(sprites.EncodeFrame(stream, buf[:n]))
		}
		if err != nil {
			return
		}
	}
}

func (ss *session) append(frame []byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for !ss.finished {
		ss.trimLocked(len(frame))
		if ss.bufBytes+len(frame) <= ss.limit || len(ss.frames) == 0 {
			break
		}
		// A reader has not sent the oldest output yet: wait for it (or
		// for the end of the session) instead of dropping what it has not
		// seen. A reader that stops reading is dropped after writeTimeout.
		consumed, changed := ss.consumed, ss.changed
		ss.stalled++
		ss.mu.Unlock()
		select {
		case <-consumed:
		case <-changed:
		}
		ss.mu.Lock()
		ss.stalled--
	}
	if ss.finished {
		return
	}
	ss.frames = append(ss.frames, frame)
	ss.bufBytes += len(frame)
	ss.totalBytes += int64(len(frame) - 1)
	ss.lastActivity = time.Now().UTC()
	ss.notifyLocked()
}

// trimLocked makes room for need more bytes: once the buffer would pass its
// limit, it drops the oldest output that every attached reader has sent,
// down to 3/4 of the limit (so that it copies rarely), and copies so that
// the dropped frames can be collected.
func (ss *session) trimLocked(need int) {
	if ss.bufBytes+need <= ss.limit {
		return
	}
	keepFrom := ss.firstSeq + int64(len(ss.frames))
	for _, cursor := range ss.readers {
		keepFrom = min(keepFrom, cursor)
	}
	drop := 0
	for (ss.bufBytes > ss.limit*3/4 || ss.bufBytes+need > ss.limit) && drop < len(ss.frames) && ss.firstSeq+int64(drop) < keepFrom {
		ss.bufBytes -= len(ss.frames[drop])
		drop++
	}
	if drop > 0 {
		ss.frames = slices.Clone(ss.frames[drop:])
		ss.firstSeq += int64(drop)
	}
}

func (ss *session) signalConsumedLocked() {
	close(ss.consumed)
	ss.consumed = make(chan struct{})
}

func (ss *session) notifyLocked() {
	close(ss.changed)
	ss.changed = make(chan struct{})
}

// wait reaps the process, collects the rest of its output and records the
// exit code.
func (ss *session) wait(readers *sync.WaitGroup) {
	_ = ss.cmd.Wait()
	close(ss.exited)
	drained := make(chan struct{})
	go func() {
		readers.Wait()
		close(drained)
	}()
	// Background children may hold the pipes open: stop collecting after
	// exitGrace, unless the pumps are only waiting for a slow reader; then
	// wait as long as that reader makes progress.
	for {
		consumed := ss.consumedChan()
		select {
		case <-drained:
		case <-time.After(exitGrace):
			if ss.isStalled() {
				select {
				case <-drained:
				case <-consumed:
					continue
				}
			}
		}
		break
	}
	code := exitCode(ss.cmd.ProcessState)
	ss.closeStdin()
	ss.mu.Lock()
	ss.finished = true
	ss.exitCode = code
	if ss.detachTimer != nil {
		ss.detachTimer.Stop()
		ss.detachTimer = nil
	}
	ss.notifyLocked()
	ss.mu.Unlock()
	ss.sp.end()
	ss.sp.srv.log.Debug("exec exited", "sprite", ss.sp.meta.Name, "session", ss.id, "code", code)
	// Stay attachable a while, so a client whose socket dropped can learn
	// the exit code.
	time.AfterFunc(ss.sp.srv.cfg.FinishedSessionTTL, func() {
		ss.sp.mu.Lock()
		if ss.sp.sessions[ss.id] == ss {
			delete(ss.sp.sessions, ss.id)
		}
		ss.sp.mu.Unlock()
	})
}

// exitCode follows the shell: a process killed by signal N exits 128+N.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode() & 0xff
}

func (ss *session) consumedChan() <-chan struct{} {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.consumed
}

func (ss *session) isStalled() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.stalled > 0
}

// next returns reader's frames from cursor on (it has sent everything
// before cursor), the new cursor, whether the stream is over (every frame
// sent and the exit code known) and a channel closed on the next change. A
// reader that attached after output was dropped starts at the oldest frame
// kept. A reader calls next again after sending frames, before it waits:
// that call is what lets a full buffer drop them.
func (ss *session) next(reader int, cursor int64) (frames [][]byte, next int64, done bool, changed <-chan struct{}) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	cursor = max(cursor, ss.firstSeq)
	if prev, ok := ss.readers[reader]; ok && cursor > prev {
		ss.readers[reader] = cursor
		ss.signalConsumedLocked()
	}
	frames = ss.frames[cursor-ss.firstSeq:]
	next = ss.firstSeq + int64(len(ss.frames))
	return frames, next, ss.finished, ss.changed
}

func (ss *session) result() (finished bool, code int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.finished, ss.exitCode
}

func (ss *session) resultOrWait() (finished bool, code int, changed <-chan struct{}) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.finished, ss.exitCode, ss.changed
}

func (ss *session) isExited() bool {
	select {
	case <-ss.exited:
		return true
	default:
		return false
	}
}

func (ss *session) writeStdin(p []byte) {
	ss.stdinMu.Lock()
	defer ss.stdinMu.Unlock()
	if ss.stdin == nil {
		return
	}
	if _, err := ss.stdin.Write(p); err != nil {
		ss.stdin.Close()
		ss.stdin = nil
	}
}

func (ss *session) closeStdin() {
	ss.stdinMu.Lock()
	defer ss.stdinMu.Unlock()
	if ss.stdin != nil {
		ss.stdin.Close()
		ss.stdin = nil
	}
}

// signal sends sig to the session's process group, which holds the
// command and the children it did not move elsewhere.
func (ss *session) signal(sig syscall.Signal) {
	if ss.isExited() {
		return
	}
	ss.sp.srv.signalGroup(ss.id, sig)
}

// attach counts a client in and returns its reader ID for next; detach
// counts it out and, when it was the last one, gives the process maxAfter
// to finish before it is killed.
func (ss *session) attach() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.detachTimer != nil {
		ss.detachTimer.Stop()
		ss.detachTimer = nil
	}
	ss.nextReader++
	ss.readers[ss.nextReader] = ss.firstSeq
	return ss.nextReader
}

func (ss *session) detach(reader int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.readers, reader)
	ss.signalConsumedLocked()
	if len(ss.readers) > 0 || ss.finished || ss.maxAfter <= 0 {
		return
	}
	ss.detachTimer = time.AfterFunc(ss.maxAfter, func() {
		ss.mu.Lock()
		abandoned := len(ss.readers) == 0 && !ss.finished
		ss.mu.Unlock()
		if abandoned {
			ss.sp.srv.log.Info("killing exec abandoned by its client", "sprite", ss.sp.meta.Name, "session", ss.id)
			ss.terminate(2 * time.Second)
		}
	})
}

// terminate sends SIGTERM, then SIGKILL after grace, and reports whether
// SIGKILL was needed.
func (ss *session) terminate(grace time.Duration) (killed bool) {
	ss.signal(syscall.SIGTERM)
	select {
	case <-ss.exited:
		return false
	case <-time.After(grace):
	}
	ss.signal(syscall.SIGKILL)
	<-ss.exited
	return true
}

// info is the session as the sessions list shows it.
func (ss *session) info() sprites.ExecSession {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var bps float64
	if secs := time.Since(ss.created).Seconds(); secs > 0 {
		bps = float64(ss.totalBytes) / secs
	}
	return sprites.ExecSession{
		ID:             int64(ss.id),
		Command:        ss.command,
		Workdir:        ss.workdir,
		Created:        ss.created,
		BytesPerSecond: bps,
		IsActive:       len(ss.readers) > 0,
		LastActivity:   ss.lastActivity,
	}
}

// sessionInfo is the session_info message sent at start and on attach.
func (ss *session) sessionInfo(owner bool) sprites.ControlMessage {
	return sprites.ControlMessage{
		Type:      "session_info",
		SessionID: int64(ss.id),
		Command:   ss.command,
		Created:   ss.created.Unix(),
		IsOwner:   owner,
		TTY:       false,
	}
}

// copyStdin feeds r to the process and then closes its stdin.
func (ss *session) copyStdin(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			ss.writeStdin(buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				ss.sp.srv.log.Debug("exec stdin", "session", ss.id, "err", err)
			}
			ss.closeStdin()
			return
		}
	}
}
