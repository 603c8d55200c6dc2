package localsprites

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killMarked SIGKILLs every process whose environment carries the sprite's
// marker, until none is left (a process may fork while we scan).
func killMarked(id string) int {
	needle := []byte(markerVar + "=" + id + "\x00")
	self := os.Getpid()
	killed := 0
	for range 10 {
		found := 0
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return killed
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err != nil || !bytes.Contains(env, needle) {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				found++
			}
		}
		killed += found
		if found == 0 {
			return killed
		}
		time.Sleep(10 * time.Millisecond) // let the kills land before re-scanning
	}
	return killed
}

// stopEverything kills every process of the sprite: sessions, services,
// the sandbox and stragglers found by marker. Finished sessions stay
// attachable unless the sprite is going away.
func (sp *sprite) stopEverything(deleting bool) {
	sp.mu.Lock()
	sessions := make([]*session, 0, len(sp.sessions))
	for _, ss := range sp.sessions {
		sessions = append(sessions, ss)
	}
	svcs := make([]*serviceProc, 0, len(sp.services))
	for _, p := range sp.services {
		svcs = append(svcs, p)
	}
	sb := sp.sandbox
	sp.sandbox = nil
	sp.mu.Unlock()

	for _, ss := range sessions {
		ss.signal(syscall.SIGKILL)
	}
	for _, p := range svcs {
		p.kill()
	}
	if sb != nil {
		sb.stop()
	}
	killMarked(sp.meta.ID)
	deadline := time.After(5 * time.Second)
	for _, ss := range sessions {
		select {
		case <-ss.exited:
		case <-deadline:
		}
	}
	for _, p := range svcs {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
}

// signalGroup sends sig to the process group pgid. In bwrap mode the group
// leader is nsenter, which does not forward signals and would die of most
// of them at once, reporting the wrong exit; so, except for SIGKILL, the
// leader is skipped and nsenter exits the way the command did.
func (s *Server) signalGroup(pgid int, sig syscall.Signal) {
	if s.bwrap == "" || sig == syscall.SIGKILL {
		_ = syscall.Kill(-pgid, sig)
		return
	}
	for _, pid := range groupMembers(pgid) {
		if pid != pgid {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// groupMembers lists the processes whose process group is pgid.
func groupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces) close with ')':
		// state ppid pgrp ...
		i := bytes.LastIndexByte(raw, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(raw[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
