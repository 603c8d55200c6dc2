package sprites

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
)

// HomeDir is the working directory of every filesystem call: the service
// requires one, and relative paths resolve against it.
const HomeDir = "/home/sprite"

// defaultFileMode is the mode WriteFile uses when given none.
const defaultFileMode os.FileMode = 0o644

func fsQuery(path string) url.Values {
	return url.Values{"path": {path}, "workingDir": {HomeDir}}
}

// FormatMode renders mode as the filesystem API's 4-digit octal string,
// e.g. "0644", moving Go's setuid/setgid/sticky flags to their Unix bits.
// Other type bits (directory, symlink) are dropped.
func FormatMode(mode os.FileMode) string {
	m := uint32(mode.Perm())
	if mode&os.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&os.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&os.ModeSticky != 0 {
		m |= 0o1000
	}
	return fmt.Sprintf("%04o", m)
}

// ParseMode reads an octal mode string such as "0644", "755" or "4755"
// into an os.FileMode with Go's setuid/setgid/sticky flags. It is the
// inverse of FormatMode; the error wraps ErrInvalid.
func ParseMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("sprites: mode %q is not an octal permission such as 0644: %w", s, ErrInvalid)
	}
	m := os.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m, nil
}

// ReadFile reads a file; relative paths resolve against /home/sprite. A
// missing file is ErrNotFound. The whole file is held in memory: use
// ReadFileLimit for files of unknown size.
func (c *Client) ReadFile(ctx context.Context, sprite, path string) ([]byte, error) {
	data, _, err := c.ReadFileLimit(ctx, sprite, path, math.MaxInt64)
	return data, err
}

// ReadFileLimit reads at most max bytes of a file and reports the whole
// file's size, holding no more than max bytes in memory whatever the
// file's size: from the Content-Length the server sends, or else by
// counting the rest of the answer as it is discarded. A missing file is
// ErrNotFound.
func (c *Client) ReadFileLimit(ctx context.Context, sprite, path string, max int64) (data []byte, size int64, err error) {
	if err := ValidateName(sprite); err != nil {
		return nil, 0, err
	}
	if max < 0 {
		return nil, 0, fmt.Errorf("sprites: read %s in %s: negative limit %d: %w", path, sprite, max, ErrInvalid)
	}
	op := fmt.Sprintf("read %s in %s", path, sprite)
	req, err := c.newRequest(ctx, http.MethodGet, spritePath(sprite, "fs", "read"), fsQuery(path), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.doStream(op, req, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return nil, 0, fmt.Errorf("sprites: %s: %w", op, err)
	}
	if resp.StatusCode == http.StatusOK && resp.ContentLength >= 0 {
		return data, resp.ContentLength, nil
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("sprites: %s: %w", op, err)
	}
	return data, int64(len(data)) + rest, nil
}

// WriteFile writes a file with mode (zero means 0644), creating parent
// directories. data may be nil for an empty file.
func (c *Client) WriteFile(ctx context.Context, sprite, path string, data io.Reader, mode os.FileMode) (*WriteResult, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	if mode == 0 {
		mode = defaultFileMode
	}
	if data == nil {
		data = bytes.NewReader(nil)
	}
	q := fsQuery(path)
	q.Set("mode", FormatMode(mode))
	q.Set("mkdirParents", "true")
	op := fmt.Sprintf("write %s in %s", path, sprite)
	req, err := c.newRequest(ctx, http.MethodPut, spritePath(sprite, "fs", "write"), q, data)
	if err != nil {
		return nil, err
	}
	resp, err := c.doStream(op, req, http.StatusOK, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// An empty answer still means written; the body only echoes the request.
	res := WriteResult{Path: path, Mode: q.Get("mode")}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil && err != io.EOF {
		return nil, fmt.Errorf("sprites: %s: decoding answer: %w", op, err)
	}
	return &res, nil
}

// ListFiles lists a directory, or stats a file (one entry). A missing path
// is ErrNotFound.
func (c *Client) ListFiles(ctx context.Context, sprite, path string) (*FileList, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	var list FileList
	op := fmt.Sprintf("list %s in %s", path, sprite)
	if err := c.doJSON(ctx, op, http.MethodGet, spritePath(sprite, "fs", "list"), fsQuery(path), nil, &list, http.StatusOK); err != nil {
		return nil, err
	}
	return &list, nil
}

// DeleteFile deletes a file, or a directory and its contents when
// recursive. A missing path is ErrNotFound.
func (c *Client) DeleteFile(ctx context.Context, sprite, path string, recursive bool) (*DeleteResult, error) {
	if err := ValidateName(sprite); err != nil {
		return nil, err
	}
	q := fsQuery(path)
	if recursive {
		q.Set("recursive", "true")
	}
	var res DeleteResult
	op := fmt.Sprintf("delete %s in %s", path, sprite)
	if err := c.doJSON(ctx, op, http.MethodDelete, spritePath(sprite, "fs", "delete"), q, nil, &res, http.StatusOK); err != nil {
		return nil, err
	}
	return &res, nil
}
