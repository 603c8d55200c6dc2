package replay

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// harnessTokenShape is the shape of the random tokens the harness gives
// localsprites: 32 lowercase hex digits standing alone.
var harnessTokenShape = regexp.MustCompile(`(?:^|[^0-9a-f])[0-9a-f]{32}(?:[^0-9a-f]|$)`)

// leaks lists what in a fixture looks like a credential: the recorder's
// fake token, a bearer header, or a harness-shaped token. It looks at the
// raw file and at every string and bytes field of the decoded history,
// payload data included (protojson writes payload bytes base64-encoded, so
// the raw text alone would miss a token inside a payload).
func leaks(raw []byte, h *historypb.History) []string {
	texts := []string{string(raw)}
	collectTexts(h.ProtoReflect(), &texts)
	var found []string
	for _, s := range texts {
		switch {
		case strings.Contains(s, recorderToken):
			found = append(found, "the recorder's token")
		case strings.Contains(strings.ToLower(s), "bearer"):
			found = append(found, fmt.Sprintf("a bearer credential in %q", clip(s)))
		case harnessTokenShape.MatchString(s):
			found = append(found, fmt.Sprintf("a harness-shaped token %q", harnessTokenShape.FindString(s)))
		}
	}
	return found
}

// collectTexts appends every string and bytes value of m, recursively.
func collectTexts(m protoreflect.Message, out *[]string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				collectValue(fd, l.Get(i), out)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				*out = append(*out, k.String())
				collectValue(fd.MapValue(), mv, out)
				return true
			})
		default:
			collectValue(fd, v, out)
		}
		return true
	})
}

func collectValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, out *[]string) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		collectTexts(v.Message(), out)
	case protoreflect.StringKind:
		*out = append(*out, v.String())
	case protoreflect.BytesKind:
		*out = append(*out, string(v.Bytes()))
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestFixtures_HoldNoToken(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if found := leaks(raw, loadFixture(t, path)); len(found) > 0 {
			t.Errorf("%s holds %v", path, found)
		}
	}
}

// The scan must see through the base64 of payload data, or a fixture could
// carry a token the raw text does not show.
func TestLeaks_FindsATokenInsideAPayload(t *testing.T) {
	payload := func(data string) *historypb.History {
		return &historypb.History{Events: []*historypb.HistoryEvent{{
			Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
				WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
					Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{
						Metadata: map[string][]byte{"encoding": []byte("json/plain")},
						Data:     []byte(data),
					}}},
				},
			},
		}}}
	}
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"recorder token", `{"token":"` + recorderToken + `"}`, true},
		{"bearer header", `{"header":"Authorization: Bearer abc"}`, true},
		{"harness-shaped token", `{"t":"0123456789abcdef0123456789abcdef"}`, true},
		{"clean payload", `{"session_id":"plain","sprite_name":"box"}`, false},
		{"a longer hex run is not a token", `{"sha":"0123456789abcdef0123456789abcdef0123"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The raw text stands for a file that hides the payload in base64.
			if got := len(leaks([]byte("{}"), payload(tt.data))) > 0; got != tt.want {
				t.Errorf("leak found = %v, want %v", got, tt.want)
			}
		})
	}
}
