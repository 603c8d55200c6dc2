package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// pathArg takes the file path as the one positional argument.
func pathArg(path *string) func(rest []string) error {
	return func(rest []string) error {
		if len(rest) != 1 {
			return usagef("want exactly one PATH argument, got %d", len(rest))
		}
		*path = rest[0]
		return nil
	}
}

func cmdRead(ctx context.Context, a *app, name string, args []string) error {
	var path string
	s, err := a.open(ctx, a.flags(name, true), args, pathArg(&path))
	if err != nil {
		return err
	}
	r, err := s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: a.sprite, Path: path}, a.callOptions()...)
	if err != nil {
		return err
	}
	if a.json {
		a.printJSON(r)
		return nil
	}
	data := []byte(r.Content)
	if r.Encoding == workflows.EncodingBase64 {
		if data, err = base64.StdEncoding.DecodeString(r.Content); err != nil {
			return fmt.Errorf("decoding the file's base64 content: %w", err)
		}
	}
	if _, err := a.stdout.Write(data); err != nil {
		return err
	}
	if r.Truncated {
		fmt.Fprintf(a.stderr, "%s read: truncated: showing %d of %d bytes\n", programName, len(data), r.Size)
	}
	return nil
}

func cmdWrite(ctx context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, true)
	content := fs.String("content", "", "file content")
	from := fs.String("from", "", "local file to upload ('-' for stdin)")
	mode := fs.String("mode", "", "octal mode such as 0644 (default) or 0755")
	var path string
	var data []byte
	s, err := a.open(ctx, fs, args, func(rest []string) error {
		contentSet := false
		fs.Visit(func(f *flag.Flag) { contentSet = contentSet || f.Name == "content" })
		if contentSet == (*from != "") {
			return usagef("give exactly one of --content and --from")
		}
		if err := pathArg(&path)(rest); err != nil {
			return err
		}
		var err error
		if *from != "" {
			data, err = a.readInput(*from)
		} else {
			data = []byte(*content)
		}
		return err
	})
	if err != nil {
		return err
	}
	req := workflows.WriteFileRequest{SpriteName: a.sprite, Path: path, Mode: *mode,
		Content: string(data), Encoding: workflows.EncodingUTF8}
	if !utf8.Valid(data) {
		req.Content, req.Encoding = base64.StdEncoding.EncodeToString(data), workflows.EncodingBase64
	}
	r, err := s.WriteFile(ctx, req, a.callOptions()...)
	if err != nil {
		return err
	}
	a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "wrote %d bytes to %s\n", r.Size, r.Path) })
	return nil
}

// readInput reads a local file, or stdin for "-".
func (a *app) readInput(path string) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return b, nil
}
