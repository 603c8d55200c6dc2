package starter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// DemoOptions tune RunDemo. The zero value works.
type DemoOptions struct {
	// SessionID is the demo's session (default "demo-" and random hex).
	SessionID string
	// SpriteName is the sprite it creates (default "demo").
	SpriteName string
	// BackendSprites, when set, lists the sprites the Sprites backend still
	// holds for the session's workflow ID; the demo ends by showing there
	// are none. (The starter does not talk to the Sprites API itself.)
	BackendSprites func(ctx context.Context, workflowID string) ([]string, error)
}

// demoFile is one file of the demo project.
type demoFile struct {
	name string
	data []byte
}

func demoProject() []demoFile {
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	return []demoFile{
		{"README.md", []byte("# greeter\n\nA tiny project the demo breaks and gets back.\n")},
		{"greet.sh", []byte("#!/bin/sh\necho \"hello, $1\"\n")},
		{"test.sh", []byte("#!/bin/sh\n" +
			"out=$(sh ./greet.sh sprite 2>&1)\n" +
			"[ \"$out\" = \"hello, sprite\" ] || { echo \"FAIL: greet.sh said '$out'\"; exit 1; }\n" +
			"[ \"$(wc -c < data.bin)\" -eq 256 ] || { echo 'FAIL: data.bin is damaged'; exit 1; }\n" +
			"echo PASS\n")},
		// Every byte value once: proves the restore is byte-for-byte, not
		// just text-equal.
		{"data.bin", bin},
	}
}

// RunDemo runs a scripted session that shows what the product is for, and
// writes readable progress to w: it creates a sprite, writes a small project,
// runs a risky step that breaks it, shows the automatic restore, proves the
// files are back byte for byte, ends the session and shows no sprite is
// left. It returns an error when any of that does not hold.
func RunDemo(ctx context.Context, c *Client, w io.Writer, opts DemoOptions) error {
	if opts.SessionID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		opts.SessionID = "demo-" + hex.EncodeToString(b[:])
	}
	if opts.SpriteName == "" {
		opts.SpriteName = "demo"
	}
	d := &demo{s: c.Session(opts.SessionID), w: w, sprite: opts.SpriteName, total: 8,
		dir: path.Join(workflows.WorkspacePath, "project")}
	begin := time.Now()
	fmt.Fprintf(w, "sprite-sessions demo: session %s (workflow %s)\n\n", d.s.ID(), d.s.WorkflowID())

	ended := false
	defer func() {
		if !ended {
			// Leave nothing behind when the demo fails half way: ending the
			// session deletes its sprites.
			endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if _, err := d.s.End(endCtx, workflows.EndSessionRequest{Reason: "demo failed"}); err == nil {
				fmt.Fprintf(w, "\nSession ended after the failure; its sprites were deleted.\n")
			}
		}
	}()

	if err := d.run(ctx, opts); err != nil {
		fmt.Fprintf(w, "\nDemo failed: %v\n", err)
		return fmt.Errorf("demo: %w", err)
	}
	ended = true
	fmt.Fprintf(w, "\nDone in %.1fs: the risky step broke the project, the session put it back, and nothing leaked.\n",
		time.Since(begin).Seconds())
	return nil
}

type demo struct {
	s      *Session
	w      io.Writer
	sprite string
	dir    string
	step   int
	total  int
}

// do prints one numbered step with its duration and outcome.
func (d *demo) do(title string, f func() (string, error)) error {
	d.step++
	fmt.Fprintf(d.w, "[%d/%d] %-44s ", d.step, d.total, title)
	start := time.Now()
	note, err := f()
	took := time.Since(start).Seconds()
	if err != nil {
		fmt.Fprintf(d.w, "FAILED %.2fs\n", took)
		return fmt.Errorf("%s: %w", title, err)
	}
	fmt.Fprintf(d.w, "ok %5.2fs  %s\n", took, note)
	return nil
}

func (d *demo) detail(label, text string) {
	fmt.Fprintf(d.w, "        %-24s %s\n", label+":", text)
}

func (d *demo) run(ctx context.Context, opts DemoOptions) error {
	files := demoProject()

	if err := d.do(fmt.Sprintf("Create sprite %q", d.sprite), func() (string, error) {
		r, err := d.s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: d.sprite})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, workspace %s", r.Status, r.WorkspacePath), nil
	}); err != nil {
		return err
	}

	if err := d.do(fmt.Sprintf("Write a project (%d files)", len(files)), func() (string, error) {
		var names []string
		for _, f := range files {
			req := workflows.WriteFileRequest{SpriteName: d.sprite, Path: path.Join(d.dir, f.name),
				Content: string(f.data), Encoding: workflows.EncodingUTF8}
			if !isText(f.data) {
				req.Content, req.Encoding = base64.StdEncoding.EncodeToString(f.data), workflows.EncodingBase64
			}
			if _, err := d.s.WriteFile(ctx, req); err != nil {
				return "", err
			}
			names = append(names, f.name)
		}
		return strings.Join(names, ", "), nil
	}); err != nil {
		return err
	}

	if err := d.do("Run its tests", func() (string, error) { return d.test(ctx) }); err != nil {
		return err
	}

	var risky workflows.RiskyStepResponse
	if err := d.do("Risky step: a change that breaks it", func() (string, error) {
		var err error
		risky, err = d.s.RunRiskyStep(ctx, workflows.RiskyStepRequest{
			Sprites: []string{d.sprite},
			Steps: []workflows.RiskyCommand{{
				Command: "rm greet.sh && printf 'oops' > README.md && printf 'x' > data.bin && echo 'deleted greet.sh, clobbered README.md and data.bin'",
				Dir:     d.dir,
			}},
			Verify:  &workflows.RiskyCommand{Command: "sh test.sh", Dir: d.dir},
			Comment: "before the demo's risky step",
		})
		if err != nil {
			return "", err
		}
		if risky.Success {
			return "", errors.New("the breaking step passed verification; nothing to restore")
		}
		if !risky.Restored {
			return "", fmt.Errorf("step failed (%s) but the sprite was not restored (tainted: %v)", risky.Reason, risky.Tainted)
		}
		return "verify failed, sprite restored", nil
	}); err != nil {
		return err
	}
	d.detail("checkpoint taken first", risky.Checkpoints[d.sprite])
	for i, st := range risky.Steps {
		d.detail(fmt.Sprintf("step %d exited %d", i+1, st.ExitCode), firstLine(st.Stdout+st.Stderr+st.Error))
	}
	if v := risky.Verify; v != nil {
		d.detail(fmt.Sprintf("verify exited %d", v.ExitCode), firstLine(v.Stdout+v.Stderr+v.Error))
	}
	d.detail("automatic restore", fmt.Sprintf("restored=%v (%s)", risky.Restored, risky.Reason))

	if err := d.do("Prove the files are back byte for byte", func() (string, error) {
		for _, f := range files {
			r, err := d.s.ReadFile(ctx, workflows.ReadFileRequest{SpriteName: d.sprite, Path: path.Join(d.dir, f.name)})
			if err != nil {
				return "", err
			}
			got, err := decodeContent(r)
			if err != nil {
				return "", fmt.Errorf("%s: %w", f.name, err)
			}
			if !bytes.Equal(got, f.data) {
				return "", fmt.Errorf("%s differs after the restore: %d bytes, want %d", f.name, len(got), len(f.data))
			}
		}
		return fmt.Sprintf("%d/%d files identical", len(files), len(files)), nil
	}); err != nil {
		return err
	}

	if err := d.do("Run its tests again", func() (string, error) { return d.test(ctx) }); err != nil {
		return err
	}

	if err := d.do("End the session", func() (string, error) {
		r, err := d.s.End(ctx, workflows.EndSessionRequest{Reason: "demo finished"})
		if err != nil {
			return "", err
		}
		if len(r.Failed) > 0 {
			return "", fmt.Errorf("cleanup could not delete %v", r.Failed)
		}
		return "deleted: " + strings.Join(r.Deleted, ", "), nil
	}); err != nil {
		return err
	}

	return d.do("Count the sprites left", func() (string, error) {
		desc, err := d.s.Describe(ctx)
		if err != nil {
			return "", err
		}
		if len(desc.Sprites) != 0 {
			return "", fmt.Errorf("session still lists %d sprites", len(desc.Sprites))
		}
		note := fmt.Sprintf("session: 0 (state %s; %d checkpoint, %d restore)",
			desc.State, desc.Counters.Checkpoints, desc.Counters.Restores)
		if opts.BackendSprites != nil {
			left, err := opts.BackendSprites(ctx, d.s.WorkflowID())
			if err != nil {
				return "", fmt.Errorf("listing the Sprites backend: %w", err)
			}
			if len(left) != 0 {
				return "", fmt.Errorf("the Sprites backend still has %v", left)
			}
			note += "; Sprites backend: 0"
		}
		return note, nil
	})
}

// test runs the project's tests and fails unless they pass.
func (d *demo) test(ctx context.Context) (string, error) {
	r, err := d.s.Exec(ctx, workflows.ExecRequest{SpriteName: d.sprite, Command: "sh test.sh", Dir: d.dir})
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("tests exited %d: %s", r.ExitCode, firstLine(r.Stdout+r.Stderr))
	}
	return firstLine(r.Stdout), nil
}

func decodeContent(r workflows.ReadFileResponse) ([]byte, error) {
	if r.Truncated {
		return nil, errors.New("content truncated")
	}
	if r.Encoding == workflows.EncodingBase64 {
		return base64.StdEncoding.DecodeString(r.Content)
	}
	return []byte(r.Content), nil
}

// isText reports whether data survives the trip as a UTF-8 string. NUL and
// other control bytes go as base64 even when valid UTF-8, so the demo
// exercises both encodings.
func isText(data []byte) bool {
	for _, b := range data {
		if b < 0x20 && b != '\n' && b != '\t' || b >= 0x7f {
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
