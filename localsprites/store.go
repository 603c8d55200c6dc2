package localsprites

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// State directory layout:
//
//	<state>/sprites/<name>/sprite.json       metadata, written atomically
//	<state>/sprites/<name>/home/             the sprite's files
//	<state>/sprites/<name>/checkpoints/vN/   copies of home
//	<state>/sprites/<name>/logs/             service logs
//	<state>/trash/                           deleted sprites being removed

func (s *Server) spritesDir() string { return filepath.Join(s.cfg.StateDir, "sprites") }
func (s *Server) trashDir() string   { return filepath.Join(s.cfg.StateDir, "trash") }

// load reads every sprite back from the state directory. Sprites come back
// cold: no process survives a restart.
func (s *Server) load() error {
	for _, d := range []string{s.spritesDir(), s.trashDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("localsprites: creating state directory: %w", err)
		}
	}
	// Whatever was being deleted when the last server stopped goes now.
	if err := os.RemoveAll(s.trashDir()); err != nil {
		s.log.Warn("emptying trash", "err", err)
	}
	_ = os.MkdirAll(s.trashDir(), 0o755)
	entries, err := os.ReadDir(s.spritesDir())
	if err != nil {
		return fmt.Errorf("localsprites: reading state directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.spritesDir(), e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, "sprite.json"))
		if errors.Is(err, fs.ErrNotExist) {
			// A create that died before its metadata was written.
			s.log.Warn("removing incomplete sprite directory", "dir", dir)
			_ = os.RemoveAll(dir)
			continue
		}
		if err != nil {
			return fmt.Errorf("localsprites: reading sprite %s: %w", e.Name(), err)
		}
		sp := s.newSprite(dir)
		if err := json.Unmarshal(raw, &sp.meta); err != nil {
			return fmt.Errorf("localsprites: decoding sprite %s: %w", e.Name(), err)
		}
		sp.cold = true
		s.recoverHome(sp)
		s.sprites[sp.meta.Name] = sp
		// A plain-mode process can outlive a crashed server; a cold sprite
		// has none.
		killMarked(sp.meta.ID)
	}
	return nil
}

// recoverHome finishes what a restore that died half way left behind (one
// without the atomic exchange, see swapHome): a home moved away and not
// replaced is put back; an unfinished copy is removed.
func (s *Server) recoverHome(sp *sprite) {
	leftovers, _ := filepath.Glob(filepath.Join(sp.dir, "home.*-*"))
	for _, dir := range leftovers {
		_, missing := os.Stat(sp.homeDir())
		if strings.HasPrefix(filepath.Base(dir), "home.old-") && errors.Is(missing, fs.ErrNotExist) {
			if err := os.Rename(dir, sp.homeDir()); err == nil {
				s.log.Warn("restored the files a restore had moved away", "sprite", sp.meta.Name)
				continue
			}
		}
		_ = os.RemoveAll(dir)
	}
}

func (s *Server) newSprite(dir string) *sprite {
	return &sprite{
		srv:      s,
		dir:      dir,
		sessions: map[int]*session{},
		services: map[string]*serviceProc{},
	}
}

// saveLocked writes sprite.json atomically: a crash leaves the old or the
// new file, never a torn one. The caller holds sp.mu.
func (sp *sprite) saveLocked() error {
	raw, err := json.MarshalIndent(sp.meta, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding sprite metadata: %w", err)
	}
	return writeFileAtomic(sp.metaPath(), raw)
}

func (sp *sprite) save() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.saveLocked()
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming %s: %w", path, err)
	}
	return nil
}

// moveToTrash renames dir out of the way (so its name is free at once) and
// removes it in the background.
func (s *Server) moveToTrash(dir string) error {
	dst := filepath.Join(s.trashDir(), filepath.Base(dir)+"-"+randomHex(6))
	if err := os.Rename(dir, dst); err != nil {
		return err
	}
	s.bg.Go(func() {
		if err := os.RemoveAll(dst); err != nil {
			s.log.Warn("removing deleted sprite", "dir", dst, "err", err)
		}
	})
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func newSpriteID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("sprite-%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// freePort picks a loopback port no one listens on now, for the sprite's
// PORT. Sprites share the host network, so each needs its own.
func (s *Server) freePort() (int, error) {
	used := map[int]bool{}
	for _, sp := range s.sprites {
		used[sp.meta.Port] = true
	}
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !used[port] {
			return port, nil
		}
	}
	return 0, errors.New("finding a free port: no luck in 20 tries")
}
