package starter

import (
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// Tool names. The first nine are the Everruns Sprites capability's tools
// with the same inputs, so an agent taught those needs no re-teaching.
const (
	ToolCreateSprite      = "sprites_create_sprite"
	ToolExec              = "sprites_exec"
	ToolReadFile          = "sprites_read_file"
	ToolWriteFile         = "sprites_write_file"
	ToolListSprites       = "sprites_list_sprites"
	ToolManageSprite      = "sprites_manage_sprite"
	ToolCheckpoint        = "sprites_checkpoint"
	ToolRestoreCheckpoint = "sprites_restore_checkpoint"
	ToolServiceURL        = "sprites_service_url"
	ToolRunRiskyStep      = "sprites_run_risky_step"
)

// ActionDelete is the one action sprites_manage_sprite takes.
const ActionDelete = "delete"

// Tool is a session operation described for an LLM: a name, what it does,
// and a JSON schema of its input. It marshals to the shape the Anthropic
// Messages API takes as a tool definition (name, description, input_schema).
type Tool struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	InputSchema InputSchema `json:"input_schema"`
	op          string
}

// Operation returns the session update or query the tool calls.
func (t Tool) Operation() string { return t.op }

// InputSchema is the JSON schema of a tool's input: always an object.
type InputSchema struct {
	Type                 string               `json:"type"`
	Properties           map[string]*Property `json:"properties"`
	Required             []string             `json:"required,omitempty"`
	AdditionalProperties bool                 `json:"additionalProperties"`
}

// Property is the JSON schema of one input field.
type Property struct {
	Type        string               `json:"type"`
	Description string               `json:"description,omitempty"`
	Enum        []string             `json:"enum,omitempty"`
	Pattern     string               `json:"pattern,omitempty"`
	Minimum     *int64               `json:"minimum,omitempty"`
	Maximum     *int64               `json:"maximum,omitempty"`
	Default     any                  `json:"default,omitempty"`
	MinItems    *int64               `json:"minItems,omitempty"`
	Items       *Property            `json:"items,omitempty"`
	Properties  map[string]*Property `json:"properties,omitempty"`
	Required    []string             `json:"required,omitempty"`
	// AdditionalProperties is false or a *Property (a map's value schema).
	AdditionalProperties any `json:"additionalProperties,omitempty"`
}

func ptr[T any](v T) *T { return &v }

func spriteNameProp(desc string) *Property {
	return &Property{Type: "string", Description: desc, Pattern: `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`}
}

func commandProps() map[string]*Property {
	return map[string]*Property{
		"command": {Type: "string", Description: "Shell command, run as `sh -lc <command>` in the workspace (e.g. 'python app.py')"},
		"timeout": {Type: "integer", Description: "Timeout in milliseconds (default 120000, max 600000)",
			Minimum: ptr[int64](1), Maximum: ptr(workflows.MaxExecTimeout.Milliseconds()), Default: workflows.DefaultExecTimeout.Milliseconds()},
		"dir": {Type: "string", Description: "Working directory (default " + workflows.WorkspacePath + ")"},
		"env": {Type: "object", Description: "Extra environment variables",
			AdditionalProperties: &Property{Type: "string"}},
	}
}

// Tools returns the session's operations as tool definitions, in a stable
// order. Each call returns fresh values the caller may change.
func Tools() []Tool {
	execProps := commandProps()
	execProps["sprite_name"] = spriteNameProp("Sprite to run the command in")
	execProps["stdin"] = &Property{Type: "string", Description: "Text written to the command's standard input"}

	stepProps := commandProps()
	stepProps["sprite_name"] = spriteNameProp("Sprite to run this command in; may be omitted when the step names one sprite")
	step := &Property{Type: "object", Properties: stepProps, Required: []string{"command"}, AdditionalProperties: false}
	verify := *step
	verify.Description = "Command that must exit 0 after the steps, or everything is restored"

	return []Tool{
		{
			Name: ToolCreateSprite, op: workflows.UpdateCreateSprite,
			Description: "Create a new Sprites microVM owned by this session: a persistent Linux environment with a full filesystem. " +
				"Creating a name the session already has returns that sprite.",
			InputSchema: object(map[string]*Property{
				"sprite_name": spriteNameProp("Name for the sprite: 1-63 chars of lowercase letters, digits and '-', not starting or ending with '-'"),
				"cpus":        {Type: "integer", Description: "Number of CPUs (1-8, default 1)", Minimum: ptr[int64](1), Maximum: ptr[int64](8), Default: workflows.DefaultCPUs},
				"memory_mb":   {Type: "integer", Description: "Memory in MB (256-16384, default 512)", Minimum: ptr[int64](256), Maximum: ptr[int64](16384), Default: workflows.DefaultMemoryMB},
				"public_url":  {Type: "boolean", Description: "Make the sprite's URL reachable without authentication"},
			}, "sprite_name"),
		},
		{
			Name: ToolExec, op: workflows.UpdateExec,
			Description: "Execute a shell command in a sprite and return its exit code, stdout and stderr. A non-zero exit code is a normal result.",
			InputSchema: object(execProps, "sprite_name", "command"),
		},
		{
			Name: ToolReadFile, op: workflows.UpdateReadFile,
			Description: "Read a file from a sprite. Text comes back as is, other bytes base64-encoded (see encoding).",
			InputSchema: object(map[string]*Property{
				"sprite_name": spriteNameProp("Sprite name"),
				"path":        {Type: "string", Description: "Path to the file, absolute or relative to " + workflows.WorkspacePath},
			}, "sprite_name", "path"),
		},
		{
			Name: ToolWriteFile, op: workflows.UpdateWriteFile,
			Description: "Write content to a file in a sprite, creating parent directories.",
			InputSchema: object(map[string]*Property{
				"sprite_name": spriteNameProp("Sprite name"),
				"path":        {Type: "string", Description: "Path to the file, absolute or relative to " + workflows.WorkspacePath},
				"content":     {Type: "string", Description: "File content"},
				"encoding":    {Type: "string", Description: "Encoding of content (default utf-8)", Enum: []string{workflows.EncodingUTF8, workflows.EncodingBase64}},
				"mode":        {Type: "string", Description: "Octal file mode such as 0644 (default) or 0755", Pattern: `^0?[0-7]{3,4}$`},
			}, "sprite_name", "path", "content"),
		},
		{
			Name: ToolListSprites, op: workflows.QueryListSprites,
			Description: "List the sprites this session owns.",
			InputSchema: object(map[string]*Property{}),
		},
		{
			Name: ToolManageSprite, op: workflows.UpdateDeleteSprite,
			Description: "Manage a sprite's lifecycle: delete permanently removes the sprite and all its data.",
			InputSchema: object(map[string]*Property{
				"sprite_name": spriteNameProp("Sprite name"),
				"action":      {Type: "string", Description: "Action to perform: delete", Enum: []string{ActionDelete}},
			}, "sprite_name", "action"),
		},
		{
			Name: ToolCheckpoint, op: workflows.UpdateCheckpoint,
			Description: "Checkpoint a sprite: snapshot its whole filesystem so it can be restored later. Use before risky changes.",
			InputSchema: object(map[string]*Property{
				"sprite_name": spriteNameProp("Sprite to checkpoint"),
				"comment":     {Type: "string", Description: "Note stored with the checkpoint"},
			}, "sprite_name"),
		},
		{
			Name: ToolRestoreCheckpoint, op: workflows.UpdateRestoreCheckpoint,
			Description: "Restore a sprite to one of its checkpoints, rolling its filesystem back.",
			InputSchema: object(map[string]*Property{
				"sprite_name":   spriteNameProp("Sprite name"),
				"checkpoint_id": {Type: "string", Description: "Checkpoint ID (from sprites_checkpoint or sprites_list_sprites)"},
			}, "sprite_name", "checkpoint_id"),
		},
		{
			Name: ToolServiceURL, op: workflows.UpdateServiceURL,
			Description: "Get a sprite's HTTP URL; services listening on port 8080 inside the sprite answer there.",
			InputSchema: object(map[string]*Property{
				"sprite_name": spriteNameProp("Sprite name"),
			}, "sprite_name"),
		},
		{
			Name: ToolRunRiskyStep, op: workflows.UpdateRunRiskyStep,
			Description: "Run risky commands safely: checkpoint every named sprite, run the steps in order, then the verify command. " +
				"If any step exits non-zero or verify fails, every sprite is restored to its checkpoint automatically and the " +
				"result says which step failed (restored: true). On success the checkpoints are kept.",
			InputSchema: object(map[string]*Property{
				"sprites": {Type: "array", Description: "Sprites to checkpoint and restore together", MinItems: ptr[int64](1),
					Items: spriteNameProp("Sprite name")},
				"steps":   {Type: "array", Description: "Commands to run in order", MinItems: ptr[int64](1), Items: step},
				"verify":  &verify,
				"comment": {Type: "string", Description: "Note stored with the checkpoints"},
			}, "sprites", "steps"),
		},
	}
}

func object(props map[string]*Property, required ...string) InputSchema {
	return InputSchema{Type: "object", Properties: props, Required: required}
}
