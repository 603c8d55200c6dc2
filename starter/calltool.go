package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// manageSpriteArgs is sprites_manage_sprite's input: a delete request plus
// the action the Everruns tool takes.
type manageSpriteArgs struct {
	workflows.DeleteSpriteRequest
	Action string `json:"action"`
}

// CallTool runs the tool an LLM asked for with its JSON arguments and returns
// the operation's answer, ready to marshal back to the model. Unknown tools
// and malformed arguments are *RejectedError.
func (s *Session) CallTool(ctx context.Context, name string, args json.RawMessage, opts ...CallOption) (any, error) {
	switch name {
	case ToolCreateSprite:
		return callTool(ctx, name, args, opts, s.CreateSprite)
	case ToolExec:
		return callTool(ctx, name, args, opts, s.Exec)
	case ToolReadFile:
		return callTool(ctx, name, args, opts, s.ReadFile)
	case ToolWriteFile:
		return callTool(ctx, name, args, opts, s.WriteFile)
	case ToolCheckpoint:
		return callTool(ctx, name, args, opts, s.Checkpoint)
	case ToolRestoreCheckpoint:
		return callTool(ctx, name, args, opts, s.RestoreCheckpoint)
	case ToolServiceURL:
		return callTool(ctx, name, args, opts, s.ServiceURL)
	case ToolRunRiskyStep:
		return callTool(ctx, name, args, opts, s.RunRiskyStep)
	case ToolListSprites:
		if err := decodeArgs(name, args, &struct{}{}); err != nil {
			return nil, err
		}
		return s.ListSprites(ctx)
	case ToolManageSprite:
		var in manageSpriteArgs
		if err := decodeArgs(name, args, &in); err != nil {
			return nil, err
		}
		if in.Action != ActionDelete {
			return nil, &RejectedError{Op: name, Message: fmt.Sprintf("invalid action %q: must be %q", in.Action, ActionDelete)}
		}
		return s.DeleteSprite(ctx, in.DeleteSpriteRequest, opts...)
	}
	return nil, &RejectedError{Op: name, Message: "unknown tool"}
}

func callTool[Req, Resp any](ctx context.Context, name string, args json.RawMessage, opts []CallOption,
	call func(context.Context, Req, ...CallOption) (Resp, error)) (any, error) {
	var req Req
	if err := decodeArgs(name, args, &req); err != nil {
		return nil, err
	}
	return call(ctx, req, opts...)
}

// decodeArgs is strict: a misspelled field is an error the model can fix,
// where ignoring it would silently run something else.
func decodeArgs(name string, args json.RawMessage, into any) error {
	if len(bytes.TrimSpace(args)) == 0 || bytes.Equal(bytes.TrimSpace(args), []byte("null")) {
		args = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return &RejectedError{Op: name, Message: "invalid arguments: " + err.Error()}
	}
	// Anything after the object would be dropped unseen.
	if _, err := dec.Token(); err != io.EOF {
		return &RejectedError{Op: name, Message: "invalid arguments: unexpected data after the JSON object"}
	}
	return nil
}
