package main

import (
	"context"

	"github.com/sprite-sessions/sprite-sessions/starter"
)

// Tool definition formats.
const (
	formatAnthropic = "anthropic"
	formatOpenAI    = "openai"
)

func cmdTools(_ context.Context, a *app, name string, args []string) error {
	fs := a.flags(name, false)
	format := fs.String("format", formatAnthropic, "anthropic (name, description, input_schema) or openai (function tools)")
	rest, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	tools := starter.Tools()
	switch *format {
	case formatAnthropic:
		a.printJSON(tools)
	case formatOpenAI:
		type function struct {
			Name        string              `json:"name"`
			Description string              `json:"description"`
			Parameters  starter.InputSchema `json:"parameters"`
		}
		type tool struct {
			Type     string   `json:"type"`
			Function function `json:"function"`
		}
		out := make([]tool, 0, len(tools))
		for _, t := range tools {
			out = append(out, tool{Type: "function", Function: function{t.Name, t.Description, t.InputSchema}})
		}
		a.printJSON(out)
	default:
		return usagef("--format %q: want %s or %s", *format, formatAnthropic, formatOpenAI)
	}
	return nil
}
