package localsprites

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// copyTree copies the tree at src into dst, which must not exist: files
// (reflinked where the filesystem can, else copied in the kernel), modes,
// times, symlinks as links, and owners when running as root. Every file is
// a copy, never a hard link, so later writes to one side do not change the
// other. Sockets, FIFOs and devices are skipped. Both sides are opened as
// os.Root, so a symlink swapped in meanwhile cannot make the copy read or
// write outside them.
func copyTree(src, dst string) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	sr, err := os.OpenRoot(src)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer sr.Close()
	dr, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer dr.Close()
	asRoot := os.Geteuid() == 0

	type dirAttr struct {
		rel  string
		info fs.FileInfo
	}
	type fileJob struct {
		rel  string
		info fs.FileInfo
	}
	// Files are copied by a few workers: on small files the copy is bound
	// by syscalls and the filesystem's latency, which overlap well.
	jobs := make(chan fileJob)
	var (
		workers  sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	failed := func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return firstErr != nil
	}
	for range copyWorkers() {
		workers.Go(func() {
			for j := range jobs {
				if err := copyFile(sr, dr, j.rel, j.info, asRoot); err != nil {
					fail(err)
				}
			}
		})
	}
	var dirs []dirAttr
	err = fs.WalkDir(sr.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if failed() {
			return fs.SkipAll
		}
		info, err := sr.Lstat(rel)
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if rel != "." {
				if err := dr.Mkdir(rel, 0o700); err != nil {
					return err
				}
			}
			// Permissions go on at the end: a read-only directory must
			// still receive its entries.
			dirs = append(dirs, dirAttr{rel, info})
		case mode&fs.ModeSymlink != 0:
			target, err := sr.Readlink(rel)
			if err != nil {
				return err
			}
			if err := dr.Symlink(target, rel); err != nil {
				return err
			}
			if asRoot {
				uid, gid := owner(info)
				_ = dr.Lchown(rel, uid, gid)
			}
		case mode.IsRegular():
			jobs <- fileJob{rel, info}
		}
		return nil
	})
	close(jobs)
	workers.Wait()
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := dr.Chmod(d.rel, d.info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		if asRoot {
			uid, gid := owner(d.info)
			_ = dr.Lchown(d.rel, uid, gid)
		}
		_ = dr.Chtimes(d.rel, d.info.ModTime(), d.info.ModTime())
	}
	return nil
}

// copyFile copies one regular file. The sprite's processes run while a
// checkpoint is taken, so the file may have been swapped for a FIFO since
// the walk saw it: openRegular neither blocks on one nor copies it.
func copyFile(sr, dr *os.Root, rel string, info fs.FileInfo, asRoot bool) error {
	in, _, err := openRegular(sr, rel, os.O_RDONLY, 0)
	if errors.Is(err, errNotRegular) {
		return nil // skipped, like the special files the walk sees
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := dr.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if !reflink(out, in) {
		// io.Copy between files uses copy_file_range: no user-space copy.
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
	}
	if err := out.Chmod(info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		out.Close()
		return err
	}
	if asRoot {
		uid, gid := owner(info)
		_ = out.Chown(uid, gid)
	}
	setTimes(out, info.ModTime())
	return out.Close()
}

// setTimes sets the file's times through its descriptor (no second path
// lookup; microsecond precision).
func setTimes(f *os.File, t time.Time) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	tv := syscall.NsecToTimeval(t.UnixNano())
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.Futimes(int(fd), []syscall.Timeval{tv, tv})
	})
}

func copyWorkers() int {
	return min(max(2*runtime.GOMAXPROCS(0), 4), 8)
}

// ficlone is the FICLONE ioctl: share the source's blocks copy-on-write
// (btrfs, XFS, bcachefs). It fails elsewhere and the caller copies.
const ficlone = 0x40049409

func reflink(dst, src *os.File) bool {
	dc, err := dst.SyscallConn()
	if err != nil {
		return false
	}
	sc, err := src.SyscallConn()
	if err != nil {
		return false
	}
	var errno syscall.Errno
	cerr := dc.Control(func(dfd uintptr) {
		_ = sc.Control(func(sfd uintptr) {
			_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, dfd, ficlone, sfd)
		})
	})
	return cerr == nil && errno == 0
}

func owner(info fs.FileInfo) (uid, gid int) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
