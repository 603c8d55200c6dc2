package activities

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

func TestWriteFile_DecodesBase64AndSendsMode(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-main"})
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)

	raw := []byte{0x00, 0xff, 0xfe, 'x'}
	val, err := env.ExecuteActivity(acts.WriteFile, WriteFileInput{
		ProviderName: "ss-abc-main", Path: "/home/sprite/a/b/bin.dat",
		Content: base64.StdEncoding.EncodeToString(raw), Encoding: EncodingBase64, Mode: "755",
	})
	if err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	var out WriteFileOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if out.Path != "/home/sprite/a/b/bin.dat" || out.Size != 4 {
		t.Errorf("output = %+v", out)
	}
	got, mode, _ := f.file("ss-abc-main", "/home/sprite/a/b/bin.dat")
	if string(got) != string(raw) || mode != "0755" {
		t.Errorf("stored %q with mode %q, want %q with 0755", got, mode, raw)
	}
}

func TestWriteFile_TextWithDefaultMode(t *testing.T) {
	f := newFakeAPI(t)
	f.addSprite(sprites.Sprite{Name: "ss-abc-main"})
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	if _, err := env.ExecuteActivity(acts.WriteFile, WriteFileInput{ProviderName: "ss-abc-main", Path: "notes.txt", Content: "héllo\n"}); err != nil {
		t.Fatal(err)
	}
	got, mode, _ := f.file("ss-abc-main", "notes.txt")
	if string(got) != "héllo\n" || mode != "0644" {
		t.Errorf("stored %q with mode %q, want the text with 0644", got, mode)
	}
}

func TestWriteFile_RejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   WriteFileInput
	}{
		{"bad base64", WriteFileInput{Path: "x", Content: "!!!", Encoding: EncodingBase64}},
		{"unknown encoding", WriteFileInput{Path: "x", Content: "a", Encoding: "latin1"}},
		{"non-octal mode", WriteFileInput{Path: "x", Content: "a", Mode: "9z"}},
		{"mode too large", WriteFileInput{Path: "x", Content: "a", Mode: "17777"}},
		{"empty path", WriteFileInput{Content: "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			acts := New(f.client(), Options{})
			env := newActivityEnv(t, acts)
			tc.in.ProviderName = "ss-abc-main"
			_, err := env.ExecuteActivity(acts.WriteFile, tc.in)
			appError(t, err, ErrTypeInvalidArgument, false)
			if n := f.count("PUT /v1/sprites/ss-abc-main/fs/write"); n != 0 {
				t.Errorf("%d writes sent for bad input", n)
			}
		})
	}
}

func TestReadFile_EncodesAndCaps(t *testing.T) {
	for _, tc := range []struct {
		name          string
		data          string
		maxBytes      int
		maxOutputCap  int
		wantContent   string
		wantEncoding  string
		wantTruncated bool
	}{
		{"utf-8 as is", "héllo wörld\n", 0, 0, "héllo wörld\n", EncodingUTF8, false},
		{"binary as base64", "\x00\xff\x10", 0, 0, base64.StdEncoding.EncodeToString([]byte("\x00\xff\x10")), EncodingBase64, false},
		{"capped at MaxBytes", "0123456789", 4, 0, "0123", EncodingUTF8, true},
		{"MaxBytes bounded by MaxOutputCap", "0123456789", 100, 6, "012345", EncodingUTF8, true},
		{"cut inside a character stays text", "aé", 2, 0, "a", EncodingUTF8, true},
		{"capped as encoded in JSON", "a<<<<<<<<<", 16, 0, "a<<", EncodingUTF8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.putFile("ss-abc-main", "/tmp/f", []byte(tc.data))
			acts := New(f.client(), Options{MaxOutputCap: tc.maxOutputCap})
			env := newActivityEnv(t, acts)
			val, err := env.ExecuteActivity(acts.ReadFile, ReadFileInput{ProviderName: "ss-abc-main", Path: "/tmp/f", MaxBytes: tc.maxBytes})
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			var out ReadFileOutput
			if err := val.Get(&out); err != nil {
				t.Fatal(err)
			}
			want := ReadFileOutput{Content: tc.wantContent, Encoding: tc.wantEncoding, Size: int64(len(tc.data)), Truncated: tc.wantTruncated}
			if out != want {
				t.Errorf("output = %+v, want %+v", out, want)
			}
		})
	}
}

func TestReadFile_MissingFileIsNotFound(t *testing.T) {
	f := newFakeAPI(t)
	acts := New(f.client(), Options{})
	env := newActivityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.ReadFile, ReadFileInput{ProviderName: "ss-abc-main", Path: "/nope"})
	appErr := appError(t, err, ErrTypeNotFound, false)
	if !strings.Contains(appErr.Error(), "/nope") {
		t.Errorf("error %q does not name the path", appErr.Error())
	}
}
