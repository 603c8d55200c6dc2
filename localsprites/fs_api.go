package localsprites

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// The filesystem API works on the sprite's home through an os.Root, so no
// path, `..` or symlink can reach outside it: the kernel-level checks of
// os.Root refuse what a string check could miss. Paths are given as the
// sprite sees them (/home/sprite/...), or relative to workingDir.

// Path errors answered 400 EINVAL.
var (
	errOutside      = errors.New("path outside the sprite's home directory")
	errPathRequired = errors.New("path is required")
)

// fsPath is a resolved filesystem API path.
type fsPath struct {
	abs string // as the sprite sees it, e.g. /home/sprite/a/b
	rel string // relative to the home, for os.Root; "." is the home
}

func resolvePath(q map[string][]string) (fsPath, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	p, wd := get("path"), get("workingDir")
	if p == "" {
		return fsPath{}, errPathRequired
	}
	if wd == "" {
		wd = spriteHome
	} else if !path.IsAbs(wd) {
		wd = path.Join(spriteHome, wd)
	}
	abs := p
	if !path.IsAbs(abs) {
		abs = path.Join(wd, p)
	}
	abs = path.Clean(abs)
	if abs == spriteHome {
		return fsPath{abs: abs, rel: "."}, nil
	}
	rel, ok := strings.CutPrefix(abs, spriteHome+"/")
	if !ok {
		return fsPath{abs: abs}, errOutside
	}
	return fsPath{abs: abs, rel: rel}, nil
}

// fsBegin resolves the path, opens the sprite's root and acquires the
// sprite. It answers errors itself; done must be called when ok.
func (s *Server) fsBegin(w http.ResponseWriter, r *http.Request, op string) (root *os.Root, p fsPath, done func(), ok bool) {
	sp := s.lookup(w, r, op)
	if sp == nil {
		return nil, p, nil, false
	}
	p, err := resolvePath(r.URL.Query())
	if err != nil {
		writeFSError(w, err, p.abs)
		return nil, p, nil, false
	}
	if !sp.acquire(w) {
		return nil, p, nil, false
	}
	root, err = os.OpenRoot(sp.homeDir())
	if err != nil {
		sp.release()
		writeFSError(w, err, p.abs)
		return nil, p, nil, false
	}
	return root, p, func() { root.Close(); sp.release() }, true
}

// writeFSError answers {error, code, path} with the status the real API
// uses for the errno.
func writeFSError(w http.ResponseWriter, err error, p string) {
	status, code := http.StatusInternalServerError, "EIO"
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, errOutside) || isEscape(err):
		status, code = http.StatusBadRequest, "EINVAL"
		err = errOutside
	case errors.Is(err, errPathRequired), errors.Is(err, errNotRegular), errno == syscall.EINVAL, errno == syscall.ENXIO:
		status, code = http.StatusBadRequest, "EINVAL"
	case errno == syscall.ENOTDIR:
		status, code = http.StatusBadRequest, "ENOTDIR"
	case errno == syscall.EISDIR:
		status, code = http.StatusBadRequest, "EISDIR"
	case errno == syscall.ENOTEMPTY:
		status, code = http.StatusConflict, "ENOTEMPTY"
	case errors.Is(err, fs.ErrNotExist):
		status, code = http.StatusNotFound, "ENOENT"
	case errors.Is(err, fs.ErrExist):
		status, code = http.StatusConflict, "EEXIST"
	case errors.Is(err, fs.ErrPermission):
		status, code = http.StatusForbidden, "EACCES"
	}
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error() // the host path stays private
	}
	writeJSON(w, status, sprites.ErrorBody{Error: msg, Code: code, Path: p})
}

// errNotRegular is a FIFO, socket or device: the filesystem API reads and
// writes regular files only.
var errNotRegular = errors.New("not a regular file")

// openRegular opens a regular file (or a link to one) in root. The open
// does not block (a FIFO would wait for its other end while the request
// holds the sprite's lock) and the type is checked on the opened file, so
// a file swapped meanwhile cannot slip through. A directory is EISDIR.
func openRegular(root *os.Root, rel string, flag int, perm os.FileMode) (*os.File, fs.FileInfo, error) {
	f, err := root.OpenFile(rel, flag|syscall.O_NONBLOCK, perm)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case st.IsDir():
		err = syscall.EISDIR
	case !st.Mode().IsRegular():
		err = errNotRegular
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// isEscape reports the os.Root refusal of a path (or symlink) that leaves
// the root; os does not export that error.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

func (s *Server) fsRead(w http.ResponseWriter, r *http.Request) {
	root, p, done, ok := s.fsBegin(w, r, opFSRead)
	if !ok {
		return
	}
	f, st, err := openRegular(root, p.rel, os.O_RDONLY, 0)
	// The open file stays readable whatever happens to the sprite next, so
	// it is sent without holding the sprite: a client that reads slowly
	// (or not at all) must not hold up a delete or a restore.
	done()
	if err != nil {
		writeFSError(w, err, p.abs)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, f)
}

// writeMode reads fs/write's mode; none means 0644.
func writeMode(v string) (os.FileMode, error) {
	if v == "" {
		return 0o644, nil
	}
	return sprites.ParseMode(v)
}

// wantParents reads the parent-creation flag under either name (docs say
// mkdir, SDKs send mkdirParents); it defaults to true.
func wantParents(q map[string][]string) bool {
	for _, k := range []string{"mkdirParents", "mkdir"} {
		if v := q[k]; len(v) > 0 {
			b, err := strconv.ParseBool(v[0])
			return err != nil || b
		}
	}
	return true
}

// fsWrite writes the body to a temporary file beside the target and
// renames it over, so a reader never sees half a file. A symlink is written
// through (os.Root keeps it inside the sprite).
func (s *Server) fsWrite(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode, err := writeMode(q.Get("mode"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, sprites.ErrorBody{Error: err.Error(), Code: "EINVAL", Path: q.Get("path")})
		return
	}
	if r.ContentLength > s.cfg.MaxWriteBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, sprites.ErrorBody{
			Error: fmt.Sprintf("file too large: %d bytes, limit %d", r.ContentLength, s.cfg.MaxWriteBytes),
			Code:  "EFBIG", Path: q.Get("path"),
		})
		return
	}
	root, p, done, ok := s.fsBegin(w, r, opFSWrite)
	if !ok {
		return
	}
	defer done()
	if p.rel == "." {
		writeFSError(w, syscall.EISDIR, p.abs)
		return
	}
	dir := path.Dir(p.rel)
	if wantParents(q) && dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			writeFSError(w, err, p.abs)
			return
		}
	}
	target := p.rel
	if st, err := root.Lstat(p.rel); err == nil {
		switch {
		case st.IsDir():
			writeFSError(w, syscall.EISDIR, p.abs)
			return
		case st.Mode()&fs.ModeSymlink != 0:
			target = "" // write through the link
		}
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxWriteBytes)
	var size int64
	if target == "" {
		size, err = writeInPlace(root, p.rel, body, mode)
	} else {
		size, err = writeReplace(root, p.rel, body, mode)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeJSON(w, http.StatusRequestEntityTooLarge, sprites.ErrorBody{
			Error: fmt.Sprintf("file too large: limit %d bytes", s.cfg.MaxWriteBytes), Code: "EFBIG", Path: p.abs,
		})
		return
	}
	if err != nil {
		writeFSError(w, err, p.abs)
		return
	}
	writeJSON(w, http.StatusOK, sprites.WriteResult{Path: p.abs, Size: size, Mode: sprites.FormatMode(mode)})
}

func writeReplace(root *os.Root, rel string, body io.Reader, mode os.FileMode) (int64, error) {
	tmp := path.Join(path.Dir(rel), "."+path.Base(rel)+".localsprites-"+randomHex(4))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chmod(tmp, mode)
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return 0, err
	}
	return n, nil
}

func writeInPlace(root *os.Root, rel string, body io.Reader, mode os.FileMode) (int64, error) {
	// No O_TRUNC at open: a link to something that is not a regular file
	// must be refused before anything changes.
	f, _, err := openRegular(root, rel, os.O_WRONLY|os.O_CREATE, mode.Perm())
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return 0, err
	}
	n, err := io.Copy(f, body)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func entryOf(abs string, info fs.FileInfo) sprites.FileEntry {
	e := sprites.FileEntry{
		Name:    info.Name(),
		Path:    abs,
		Type:    "file",
		Size:    info.Size(),
		Mode:    sprites.FormatMode(info.Mode()),
		ModTime: info.ModTime().UTC(),
		IsDir:   info.IsDir(),
	}
	if e.IsDir {
		e.Type = "directory"
	}
	return e
}

// fsList lists a directory (recursive=true walks it), or describes a file
// as a one-entry list: the SDKs' stat.
func (s *Server) fsList(w http.ResponseWriter, r *http.Request) {
	root, p, done, ok := s.fsBegin(w, r, opFSList)
	if !ok {
		return
	}
	defer done()
	st, err := root.Stat(p.rel)
	if err != nil {
		writeFSError(w, err, p.abs)
		return
	}
	out := sprites.FileList{Path: p.abs, Entries: []sprites.FileEntry{}}
	switch {
	case !st.IsDir():
		out.Entries = append(out.Entries, entryOf(p.abs, st))
	case r.URL.Query().Get("recursive") == "true":
		err = fs.WalkDir(root.FS(), p.rel, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if name == p.rel {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // vanished meanwhile
			}
			out.Entries = append(out.Entries, entryOf(path.Join(spriteHome, name), info))
			return nil
		})
	default:
		var entries []fs.DirEntry
		entries, err = fs.ReadDir(root.FS(), p.rel)
		for _, d := range entries {
			info, ierr := d.Info()
			if ierr != nil {
				continue
			}
			out.Entries = append(out.Entries, entryOf(path.Join(p.abs, d.Name()), info))
		}
	}
	if err != nil {
		writeFSError(w, err, p.abs)
		return
	}
	slices.SortFunc(out.Entries, func(a, b sprites.FileEntry) int { return strings.Compare(a.Path, b.Path) })
	out.Count = len(out.Entries)
	writeJSON(w, http.StatusOK, out)
}

// fsDelete removes a file, an empty directory, or (recursive=true) a tree.
// A symlink is removed itself, never what it points to.
func (s *Server) fsDelete(w http.ResponseWriter, r *http.Request) {
	root, p, done, ok := s.fsBegin(w, r, opFSDelete)
	if !ok {
		return
	}
	defer done()
	if p.rel == "." {
		writeJSON(w, http.StatusBadRequest, sprites.ErrorBody{Error: "refusing to delete the home directory", Code: "EINVAL", Path: p.abs})
		return
	}
	st, err := root.Lstat(p.rel)
	if err != nil {
		writeFSError(w, err, p.abs)
		return
	}
	deleted := []string{p.abs}
	if st.IsDir() && r.URL.Query().Get("recursive") == "true" {
		_ = fs.WalkDir(root.FS(), p.rel, func(name string, d fs.DirEntry, err error) error {
			if err == nil && name != p.rel {
				deleted = append(deleted, path.Join(spriteHome, name))
			}
			return nil
		})
		err = root.RemoveAll(p.rel)
	} else {
		err = root.Remove(p.rel)
	}
	if err != nil {
		writeFSError(w, err, p.abs)
		return
	}
	writeJSON(w, http.StatusOK, sprites.DeleteResult{Deleted: deleted, Count: len(deleted)})
}
