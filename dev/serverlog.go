package main

import (
	"context"
	"log/slog"
	"os"

	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts slog to the Temporal server's logger, so the server
// logs through the stack's handler and its level can be raised while the
// stack stops (the server warns about every poller it cuts off).
type serverLogger struct {
	log   *slog.Logger
	level *slog.LevelVar
}

var _ serverlog.Logger = serverLogger{}

func newServerLogger(h slog.Handler, level *slog.LevelVar) serverLogger {
	return serverLogger{log: slog.New(h).With("component", "temporal"), level: level}
}

func (l serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < l.level.Level() {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	l.log.LogAttrs(context.Background(), level, msg, attrs...)
}

func (l serverLogger) Debug(msg string, tags ...tag.Tag)  { l.emit(slog.LevelDebug, msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)   { l.emit(slog.LevelInfo, msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)   { l.emit(slog.LevelWarn, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	panic(msg)
}
func (l serverLogger) Fatal(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError+4, msg, tags)
	os.Exit(1)
}

// With keeps tags on a derived logger (the server derives one per
// component).
func (l serverLogger) With(tags ...tag.Tag) serverlog.Logger {
	args := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		args = append(args, slog.Any(t.Key(), t.Value()))
	}
	return serverLogger{log: l.log.With(args...), level: l.level}
}
