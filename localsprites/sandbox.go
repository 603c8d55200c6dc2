package localsprites

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spriteHome is where a sprite's processes see its home, and the root of
// every path the filesystem API accepts.
const spriteHome = "/home/sprite"

// markerVar is set in the environment of every process a sprite starts.
// Children inherit it, so the sprite's processes can be found (and killed)
// even when they left its process groups, e.g. a daemon in plain mode.
const markerVar = "LOCALSPRITES_SPRITE"

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// findSandbox decides between bubblewrap and plain processes.
func findSandbox(mode SandboxMode, log *slog.Logger) (string, error) {
	if mode == SandboxPlain {
		return "", nil
	}
	bwrap, err := exec.LookPath("bwrap")
	if err == nil {
		if _, err = exec.LookPath("nsenter"); err != nil {
			err = fmt.Errorf("nsenter (util-linux) is needed with bubblewrap: %w", err)
		}
	}
	if err != nil {
		if mode == SandboxBwrap {
			return "", fmt.Errorf("localsprites: bubblewrap sandbox requested: %w", err)
		}
		log.Warn("bubblewrap not found: sprites run as plain processes, without isolation, and see their home at its real path, not /home/sprite", "err", err)
		return "", nil
	}
	return bwrap, nil
}

// sandbox is a sprite's bubblewrap container: its own mount and PID
// namespaces, the system read-only, private /tmp, the sprite's home at
// /home/sprite. It plays the part of the sprite's VM: it lives while the
// sprite is awake, every exec joins it (so background processes outlive
// the command that started them, as on a real sprite), and killing it
// kills every process inside.
type sandbox struct {
	outer *exec.Cmd
	// pid is the host PID of the namespace's init; nsenter targets it.
	pid  int
	done chan struct{}
}

// sandboxLocked returns the sprite's sandbox, starting it when needed. The
// caller holds sp.mu.
func (sp *sprite) sandboxLocked() (*sandbox, error) {
	if sb := sp.sandbox; sb != nil {
		select {
		case <-sb.done:
		default:
			return sb, nil
		}
	}
	sb, err := sp.srv.startSandbox(sp)
	if err != nil {
		return nil, err
	}
	sp.sandbox = sb
	return sb, nil
}

func (s *Server) startSandbox(sp *sprite) (*sandbox, error) {
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting sandbox: %w", err)
	}
	defer infoR.Close()
	args := []string{
		"--ro-bind", "/", "/",
		"--proc", "/proc",
		"--dev", "/dev",
		"--tmpfs", "/tmp",
	}
	// Hide the state directory (other sprites, checkpoints) unless it is
	// already under the private /tmp.
	if st, _ := filepath.Abs(s.cfg.StateDir); st != "/" && !strings.HasPrefix(st+"/", "/tmp/") {
		args = append(args, "--tmpfs", st)
	}
	args = append(args,
		"--tmpfs", "/home",
		"--bind", sp.homeDir(), spriteHome,
		"--chdir", spriteHome,
		"--unshare-pid",
		"--die-with-parent",
		"--info-fd", "3",
		// bwrap reports the child's PID before the mounts are done; the
		// command says "ready" once they are.
		"--", "/bin/sh", "-c", "echo ready; exec sleep infinity",
	)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		infoW.Close()
		return nil, fmt.Errorf("starting sandbox: %w", err)
	}
	defer readyR.Close()
	cmd := exec.Command(s.bwrap, args...)
	cmd.Env = []string{"PATH=" + defaultPath, markerVar + "=" + sp.meta.ID}
	cmd.ExtraFiles = []*os.File{infoW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = readyW
	err = cmd.Start()
	infoW.Close()
	readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("starting bwrap: %w", err)
	}
	sb := &sandbox{outer: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(sb.done)
	}()
	// bwrap writes {"child-pid": N, ...} once the namespaces exist.
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	raw, err := io.ReadAll(io.LimitReader(infoR, 4096))
	if err == nil {
		err = json.Unmarshal(raw, &info)
	}
	if err == nil {
		ready := make([]byte, 6)
		if _, rerr := io.ReadFull(readyR, ready); rerr != nil || string(ready) != "ready\n" {
			err = fmt.Errorf("sandbox did not come up: %v", rerr)
		}
	}
	if err != nil || info.ChildPID == 0 {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-sb.done
		return nil, fmt.Errorf("starting bwrap: no child pid (%v): %s", err, strings.TrimSpace(stderr.String()))
	}
	sb.pid = info.ChildPID
	s.log.Debug("sandbox started", "sprite", sp.meta.Name, "pid", sb.pid)
	return sb, nil
}

// stop kills every process in the sandbox: when the namespace's init dies,
// the kernel kills the rest.
func (sb *sandbox) stop() {
	_ = syscall.Kill(sb.pid, syscall.SIGKILL)
	_ = syscall.Kill(-sb.outer.Process.Pid, syscall.SIGKILL)
	select {
	case <-sb.done:
	case <-time.After(5 * time.Second):
	}
}

// procSpec describes a process to start in a sprite.
type procSpec struct {
	Path string   // executable; "" means Args[0]
	Args []string // argv
	Env  []string // nil means the default environment
	Dir  string   // as the sprite sees it; "" means /home/sprite
}

// errBadDir is a working directory outside the sprite or missing.
var errBadDir = errors.New("working directory not found in the sprite")

// command builds the exec.Cmd for spec, in the sprite's sandbox or as a
// plain child process. The caller sets stdio and starts it. The process
// gets its own process group so a signal reaches its children too.
func (sp *sprite) command(spec procSpec) (*exec.Cmd, error) {
	if len(spec.Args) == 0 {
		return nil, errors.New("no command")
	}
	file := spec.Path
	if file == "" {
		file = spec.Args[0]
	}
	dir := spec.Dir
	if dir == "" {
		dir = spriteHome
	} else if !path.IsAbs(dir) {
		dir = path.Join(spriteHome, dir)
	}
	dir = path.Clean(dir)
	env := sp.environment(spec.Env)

	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.srv.bwrap == "" {
		hostDir, ok := sp.hostPath(dir)
		if !ok {
			return nil, fmt.Errorf("%w: %s (plain mode only reaches %s)", errBadDir, dir, spriteHome)
		}
		if st, err := os.Stat(hostDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: %s", errBadDir, dir)
		}
		if hp, ok := sp.hostPath(file); ok && strings.HasPrefix(file, "/") {
			file = hp
		}
		cmd := exec.Command(file, spec.Args[1:]...)
		if cmd.Err != nil {
			// Report it the way a shell (and nsenter in bwrap mode) does:
			// a process that fails with 127, so the exec still has a
			// session, output and an exit code.
			cmd = exec.Command("/bin/sh", "-c", `printf '%s: command not found\n' "$0" >&2; exit 127`, file)
		} else {
			cmd.Args[0] = spec.Args[0]
		}
		cmd.Dir = hostDir
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd, nil
	}

	sb, err := sp.sandboxLocked()
	if err != nil {
		return nil, err
	}
	wd, err := sb.openDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", errBadDir, dir)
	}
	// nsenter opens the working directory before it enters the
	// namespaces, so it gets the directory already opened inside the
	// sandbox, as its fd 3.
	args := []string{
		"--target", strconv.Itoa(sb.pid),
		"--mount", "--pid", "--root", "--wd=/proc/self/fd/3",
		"--", file,
	}
	args = append(args, spec.Args[1:]...)
	cmd := exec.Command("nsenter", args...)
	cmd.Env = env
	cmd.ExtraFiles = []*os.File{wd}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// openDir opens dir (absolute, clean) as the sandbox sees it. The lookup
// starts at the sandbox's root through /proc/<init>/root and goes through
// an os.Root: resolved from outside by path, an absolute symlink in the
// sprite's files would lead to the host's directory of that name instead.
// Like the filesystem API, it refuses absolute symlinks altogether.
func (sb *sandbox) openDir(dir string) (*os.File, error) {
	root, err := os.OpenRoot(fmt.Sprintf("/proc/%d/root", sb.pid))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	rel := strings.TrimPrefix(dir, "/")
	if rel == "" {
		rel = "."
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.IsDir() {
		f.Close()
		return nil, errBadDir
	}
	return f, nil
}

// startProc starts cmd and closes this process's copies of the files it
// passed on (the working directory of an nsenter).
func startProc(cmd *exec.Cmd) error {
	err := cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	return err
}

// hostPath maps a path as the sprite sees it to the host path, for paths
// under /home/sprite.
func (sp *sprite) hostPath(p string) (string, bool) {
	p = path.Clean(p)
	if p == spriteHome {
		return sp.homeDir(), true
	}
	rel, ok := strings.CutPrefix(p, spriteHome+"/")
	if !ok {
		return "", false
	}
	return filepath.Join(sp.homeDir(), filepath.FromSlash(rel)), true
}

// environment is the process environment: the given one (which replaces
// the default, as on the real service, but keeps a PATH) or the default,
// plus the marker.
func (sp *sprite) environment(given []string) []string {
	home := spriteHome
	if sp.srv.bwrap == "" {
		home = sp.homeDir()
	}
	var env []string
	if given != nil {
		// A client's copy of the marker would shadow the real one (getenv
		// takes the first), and the marker is what finds strays to kill.
		for _, kv := range given {
			if !strings.HasPrefix(kv, markerVar+"=") {
				env = append(env, kv)
			}
		}
		if !hasVar(env, "PATH") {
			env = append(env, "PATH="+defaultPath)
		}
	} else {
		env = []string{
			"PATH=" + defaultPath,
			"HOME=" + home,
			"USER=sprite",
			"LANG=C.UTF-8",
			"SPRITE_NAME=" + sp.meta.Name,
			"PORT=" + strconv.Itoa(sp.meta.Port),
		}
	}
	return append(env, markerVar+"="+sp.meta.ID)
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
