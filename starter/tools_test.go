package starter

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// requestTypes maps each operation to the api.go type its tool's input
// decodes into.
var requestTypes = map[string]reflect.Type{
	workflows.UpdateCreateSprite:      reflect.TypeFor[workflows.CreateSpriteRequest](),
	workflows.UpdateExec:              reflect.TypeFor[workflows.ExecRequest](),
	workflows.UpdateReadFile:          reflect.TypeFor[workflows.ReadFileRequest](),
	workflows.UpdateWriteFile:         reflect.TypeFor[workflows.WriteFileRequest](),
	workflows.QueryListSprites:        reflect.TypeFor[struct{}](),
	workflows.UpdateDeleteSprite:      reflect.TypeFor[manageSpriteArgs](),
	workflows.UpdateCheckpoint:        reflect.TypeFor[workflows.CheckpointRequest](),
	workflows.UpdateRestoreCheckpoint: reflect.TypeFor[workflows.RestoreCheckpointRequest](),
	workflows.UpdateServiceURL:        reflect.TypeFor[workflows.ServiceURLRequest](),
	workflows.UpdateRunRiskyStep:      reflect.TypeFor[workflows.RiskyStepRequest](),
}

// jsonFields returns the JSON field names of struct type t (embedded structs
// flattened) and the type behind each.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if f.Anonymous {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

func elemStruct(t reflect.Type) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// checkFields fails for every schema property or required field that is not
// a JSON field of t, recursing into object properties backed by structs.
func checkFields(t *testing.T, where string, typ reflect.Type, props map[string]*Property, required []string) {
	t.Helper()
	fields := jsonFields(typ)
	for _, r := range required {
		if _, ok := props[r]; !ok {
			t.Errorf("%s: required %q is not a property", where, r)
		}
	}
	for name, p := range props {
		ft, ok := fields[name]
		if !ok {
			t.Errorf("%s: property %q is not a JSON field of %v", where, name, typ)
			continue
		}
		item := p
		if p.Items != nil {
			item = p.Items
		}
		if st, isStruct := elemStruct(ft); isStruct && item.Type == "object" {
			checkFields(t, where+"."+name, st, item.Properties, item.Required)
		}
	}
}

func TestTools_FieldsMatchTheWireContract(t *testing.T) {
	for _, tool := range Tools() {
		typ, ok := requestTypes[tool.Operation()]
		if !ok {
			t.Errorf("%s: operation %q has no request type", tool.Name, tool.Operation())
			continue
		}
		checkFields(t, tool.Name, typ, tool.InputSchema.Properties, tool.InputSchema.Required)
	}
}

func TestTools_CoverEveruntsToolsAndTheRiskyStep(t *testing.T) {
	want := map[string][]string{ // Everruns' required inputs, which agents already send
		"sprites_create_sprite":      {"sprite_name"},
		"sprites_exec":               {"sprite_name", "command"},
		"sprites_read_file":          {"sprite_name", "path"},
		"sprites_write_file":         {"sprite_name", "path", "content"},
		"sprites_list_sprites":       nil,
		"sprites_manage_sprite":      {"sprite_name", "action"},
		"sprites_checkpoint":         {"sprite_name"},
		"sprites_restore_checkpoint": {"sprite_name", "checkpoint_id"},
		"sprites_service_url":        {"sprite_name"},
		"sprites_run_risky_step":     {"sprites", "steps"},
	}
	got := map[string][]string{}
	ops := map[string]bool{}
	for _, tool := range Tools() {
		got[tool.Name] = tool.InputSchema.Required
		if ops[tool.Operation()] {
			t.Errorf("two tools call %s", tool.Operation())
		}
		ops[tool.Operation()] = true
		if tool.Description == "" || tool.InputSchema.Type != "object" {
			t.Errorf("%s: incomplete definition %+v", tool.Name, tool)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tools and required inputs = %v, want %v", got, want)
	}
	// Everruns' exec takes the timeout in milliseconds under "timeout".
	for _, tool := range Tools() {
		if tool.Name == ToolExec && tool.InputSchema.Properties["timeout"].Type != "integer" {
			t.Errorf("sprites_exec timeout is not an integer")
		}
	}
}

func TestTools_MarshalAsToolDefinitions(t *testing.T) {
	b, err := json.Marshal(Tools())
	if err != nil {
		t.Fatal(err)
	}
	var defs []map[string]any
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		schema, ok := d["input_schema"].(map[string]any)
		if !ok || schema["type"] != "object" {
			t.Fatalf("definition %v has no object input_schema", d["name"])
		}
		if _, ok := schema["properties"].(map[string]any); !ok {
			t.Errorf("%v: properties missing (LLM APIs want them even when empty)", d["name"])
		}
		if schema["additionalProperties"] != false {
			t.Errorf("%v: additionalProperties = %v, want false", d["name"], schema["additionalProperties"])
		}
	}
}

func TestCallTool_DecodesArgumentsIntoTheRequest(t *testing.T) {
	f := &fakeTemporal{answer: map[string]any{}}
	s := newClient(f).Session("s-1")
	ctx := context.Background()
	cases := []struct {
		tool, args string
		wantOp     string
		wantReq    any
	}{
		{ToolExec, `{"sprite_name":"web","command":"ls","timeout":5000}`, workflows.UpdateExec,
			workflows.ExecRequest{SpriteName: "web", Command: "ls", TimeoutMS: 5000}},
		{ToolManageSprite, `{"sprite_name":"web","action":"delete"}`, workflows.UpdateDeleteSprite,
			workflows.DeleteSpriteRequest{SpriteName: "web"}},
		{ToolRunRiskyStep, `{"sprites":["web"],"steps":[{"command":"make"}],"verify":{"command":"make test"}}`, workflows.UpdateRunRiskyStep,
			workflows.RiskyStepRequest{Sprites: []string{"web"}, Steps: []workflows.RiskyCommand{{Command: "make"}},
				Verify: &workflows.RiskyCommand{Command: "make test"}}},
	}
	for _, tc := range cases {
		if _, err := s.CallTool(ctx, tc.tool, json.RawMessage(tc.args)); err != nil {
			t.Fatalf("%s: %v", tc.tool, err)
		}
		last := f.uws[len(f.uws)-1]
		if last.UpdateName != tc.wantOp || !reflect.DeepEqual(last.Args, []any{tc.wantReq}) {
			t.Errorf("%s: update %s %+v, want %s %+v", tc.tool, last.UpdateName, last.Args, tc.wantOp, tc.wantReq)
		}
	}
	if _, err := s.CallTool(ctx, ToolListSprites, nil); err != nil || !slices.Contains(f.queries, "session/s-1 "+workflows.QueryListSprites) {
		t.Errorf("sprites_list_sprites: err %v, queries %v", err, f.queries)
	}
}

func TestCallTool_RejectsBadCallsBeforeCallingTemporal(t *testing.T) {
	f := &fakeTemporal{}
	s := newClient(f).Session("s-1")
	cases := map[string]struct{ tool, args string }{
		"unknown tool":       {"sprites_format_disk", `{}`},
		"misspelled field":   {ToolExec, `{"sprite_name":"web","cmd":"ls"}`},
		"wrong type":         {ToolCreateSprite, `{"sprite_name":"web","cpus":"two"}`},
		"unsupported action": {ToolManageSprite, `{"sprite_name":"web","action":"stop"}`},
		"not an object":      {ToolReadFile, `["web"]`},
		// A second object after the first would be dropped unseen.
		"trailing data": {ToolManageSprite, `{"sprite_name":"web","action":"delete"}{"sprite_name":"db","action":"delete"}`},
		"trailing text": {ToolExec, `{"sprite_name":"web","command":"ls"} rm -rf`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.CallTool(context.Background(), tc.tool, json.RawMessage(tc.args))
			var rej *RejectedError
			if !errors.As(err, &rej) {
				t.Errorf("CallTool = %v, want *RejectedError", err)
			}
		})
	}
	if len(f.uws)+len(f.queries) != 0 {
		t.Errorf("a bad call reached Temporal")
	}
}
