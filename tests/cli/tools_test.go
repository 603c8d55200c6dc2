package cli

import (
	"encoding/json"
	"slices"
	"testing"
)

// schema is the part of JSON Schema the tool definitions use.
type schema struct {
	Type                 string             `json:"type"`
	Description          string             `json:"description"`
	Properties           map[string]*schema `json:"properties"`
	Required             []string           `json:"required"`
	Items                *schema            `json:"items"`
	Enum                 []string           `json:"enum"`
	AdditionalProperties any                `json:"additionalProperties"`
}

// jsonTypes are the type keywords of JSON Schema.
var jsonTypes = []string{"object", "array", "string", "integer", "number", "boolean", "null"}

// everrunsTools are the Everruns Sprites capability's tool names (peers.md)
// plus our risky step.
var everrunsTools = []string{
	"sprites_create_sprite", "sprites_exec", "sprites_read_file", "sprites_write_file",
	"sprites_list_sprites", "sprites_manage_sprite", "sprites_checkpoint",
	"sprites_restore_checkpoint", "sprites_service_url", "sprites_run_risky_step",
}

func TestCLI_ToolsPrintsJSONSchemaToolDefinitions(t *testing.T) {
	r := offline().run(t, "tools").expect(t, exitOK)
	var tools []struct {
		Name        string  `json:"name"`
		Description string  `json:"description"`
		InputSchema *schema `json:"input_schema"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &tools); err != nil {
		t.Fatalf("tools output is not a JSON array of tools: %v\n%s", err, r)
	}
	var names []string
	for _, tool := range tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil || tool.InputSchema.Type != "object" {
			t.Errorf("tool %s: want a description and an object input_schema", tool.Name)
			continue
		}
		checkSchema(t, tool.Name, tool.InputSchema)
	}
	for _, want := range everrunsTools {
		if !slices.Contains(names, want) {
			t.Errorf("tools = %q, missing %s", names, want)
		}
	}
	if sorted := slices.Sorted(slices.Values(names)); len(slices.Compact(sorted)) != len(names) {
		t.Errorf("tool names repeat: %q", names)
	}

	// The OpenAI form wraps the same schemas as function tools.
	o := offline().run(t, "tools", "--format", "openai").expect(t, exitOK)
	var fns []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string  `json:"name"`
			Parameters *schema `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &fns); err != nil || len(fns) != len(tools) {
		t.Fatalf("tools --format openai: %d tools, %v; want %d", len(fns), err, len(tools))
	}
	for _, f := range fns {
		if f.Type != "function" || f.Function.Parameters == nil || f.Function.Parameters.Type != "object" {
			t.Errorf("openai tool %+v, want a function with object parameters", f)
		}
	}
}

// checkSchema fails t for a schema a JSON-schema consumer would refuse: an
// unknown type, a required field that is not a property, an array without
// items.
func checkSchema(t *testing.T, where string, s *schema) {
	t.Helper()
	if !slices.Contains(jsonTypes, s.Type) {
		t.Errorf("%s: type %q is not a JSON Schema type", where, s.Type)
	}
	for _, req := range s.Required {
		if _, ok := s.Properties[req]; !ok {
			t.Errorf("%s: required %q is not a property", where, req)
		}
	}
	if s.Type == "array" {
		if s.Items == nil {
			t.Errorf("%s: array without items", where)
		} else {
			checkSchema(t, where+"[]", s.Items)
		}
	}
	for name, p := range s.Properties {
		checkSchema(t, where+"."+name, p)
	}
}
