package activities

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"unicode/utf8"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Content encodings of file contents in inputs and answers.
const (
	EncodingUTF8   = "utf-8"
	EncodingBase64 = "base64"
)

// defaultFileMode is the mode of a written file when none is given.
const defaultFileMode os.FileMode = 0o644

// ReadFileInput reads a file.
type ReadFileInput struct {
	ProviderName string `json:"provider_name"`
	Path         string `json:"path"`
	MaxBytes     int    `json:"max_bytes"`
}

// ReadFileOutput carries the content (UTF-8 as is, other bytes base64).
type ReadFileOutput struct {
	Content   string `json:"content"`
	Encoding  string `json:"encoding"`
	Size      int64  `json:"size"`
	Truncated bool   `json:"truncated,omitempty"`
}

// ReadFile reads a file from the sprite. At most MaxBytes (bounded by the
// activities' MaxOutputCap) of it enter the answer, text cut further so that
// its JSON encoding fits in MaxBytes; Size is the whole file's.
func (a *Activities) ReadFile(ctx context.Context, in ReadFileInput) (ReadFileOutput, error) {
	op := "read " + in.Path + " in " + in.ProviderName
	if in.Path == "" {
		return ReadFileOutput{}, invalid("%s: empty path", op)
	}
	// Only the part that can enter the answer is held in memory, however
	// large the file (or endless, like a device) is.
	limit := a.outputCap(in.MaxBytes)
	data, size, err := a.client.ReadFileLimit(ctx, in.ProviderName, in.Path, int64(limit))
	if err != nil {
		return ReadFileOutput{}, Classify(op, err)
	}
	out := ReadFileOutput{Size: size, Truncated: size > int64(len(data))}
	text := data
	if out.Truncated {
		// The cut may split the last character of a text file.
		text = trimPartialRune(data)
	}
	if !utf8.Valid(text) {
		out.Content, out.Encoding = base64.StdEncoding.EncodeToString(data), EncodingBase64
		return out, nil
	}
	var cut bool
	out.Content, cut = fitJSON(string(text), limit)
	out.Encoding, out.Truncated = EncodingUTF8, out.Truncated || cut
	return out, nil
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// WriteFileInput writes a file.
type WriteFileInput struct {
	ProviderName string `json:"provider_name"`
	Path         string `json:"path"`
	Content      string `json:"content"`
	Encoding     string `json:"encoding,omitempty"`
	Mode         string `json:"mode,omitempty"`
}

// WriteFileOutput confirms the write.
type WriteFileOutput struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// WriteFile writes a file into the sprite, creating parents. Content is
// UTF-8 text unless Encoding is "base64"; Mode is octal (default 0644).
func (a *Activities) WriteFile(ctx context.Context, in WriteFileInput) (WriteFileOutput, error) {
	op := "write " + in.Path + " in " + in.ProviderName
	if in.Path == "" {
		return WriteFileOutput{}, invalid("%s: empty path", op)
	}
	var data []byte
	switch in.Encoding {
	case "", EncodingUTF8:
		data = []byte(in.Content)
	case EncodingBase64:
		var err error
		if data, err = base64.StdEncoding.DecodeString(in.Content); err != nil {
			return WriteFileOutput{}, invalid("%s: content is not valid base64: %v", op, err)
		}
	default:
		return WriteFileOutput{}, invalid("%s: unknown encoding %q (want %q or %q)", op, in.Encoding, EncodingUTF8, EncodingBase64)
	}
	mode := defaultFileMode
	if in.Mode != "" {
		var err error
		if mode, err = sprites.ParseMode(in.Mode); err != nil {
			return WriteFileOutput{}, invalid("%s: mode %q is not an octal permission such as 0644", op, in.Mode)
		}
	}
	res, err := a.client.WriteFile(ctx, in.ProviderName, in.Path, bytes.NewReader(data), mode)
	if err != nil {
		return WriteFileOutput{}, Classify(op, err)
	}
	out := WriteFileOutput{Path: res.Path, Size: res.Size}
	if out.Path == "" {
		out.Path = in.Path
	}
	return out, nil
}
