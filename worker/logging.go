package worker

import (
	"io"
	"log/slog"
)

// NewLogger returns the structured logger cfg asks for (LogFormat json or
// text, LogLevel), writing to w. An unknown level means info; LoadConfig
// has already refused it.
func NewLogger(w io.Writer, cfg Config) *slog.Logger {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
