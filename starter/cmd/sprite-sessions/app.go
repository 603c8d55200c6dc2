package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"

	"github.com/sprite-sessions/sprite-sessions/starter"
	"github.com/sprite-sessions/sprite-sessions/worker"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// app holds one invocation's streams, environment and common flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            envconfig.Lookuper

	session   string
	sprite    string
	taskQueue string
	updateID  string
	json      bool
	// address and namespace override TEMPORAL_ADDRESS and
	// TEMPORAL_NAMESPACE when set.
	address   string
	namespace string
	// needSprite: the command takes --sprite, and it is required.
	needSprite bool

	temporal    client.Client
	temporalEnv worker.TemporalConfig
}

// flags returns a flag set with the flags every command takes. withSprite
// adds --sprite.
func (a *app) flags(name string, withSprite bool) *flag.FlagSet {
	fs := flag.NewFlagSet(programName+" "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.session, "session", "", "session ID")
	fs.BoolVar(&a.json, "json", false, "print machine-readable JSON")
	queue := workflows.DefaultTaskQueue
	if q, ok := a.env.Lookup(taskQueueEnv); ok && q != "" {
		queue = q
	}
	fs.StringVar(&a.taskQueue, "task-queue", queue, "task queue of the worker (default $"+taskQueueEnv+" or "+workflows.DefaultTaskQueue+")")
	fs.StringVar(&a.updateID, "update-id", "", "update ID, for an idempotent retry of the same call")
	fs.StringVar(&a.address, "address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS or localhost:7233)")
	fs.StringVar(&a.namespace, "namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE or default)")
	if withSprite {
		fs.StringVar(&a.sprite, "sprite", "", "sprite name")
	}
	a.needSprite = withSprite
	return fs
}

// parse parses args and returns the positional arguments. Flags may come
// after positional arguments (`read PATH --sprite web`); everything after
// "--" is positional.
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseCommand parses flags up to the first positional argument and returns
// it and everything after it untouched: a command's own flags (`ls -la`) are
// not ours.
func (a *app) parseCommand(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, &usageError{msg: err.Error()}
	}
	return fs.Args(), nil
}

// open parses args with fs and opens the session; see openParsed.
func (a *app) open(ctx context.Context, fs *flag.FlagSet, args []string, check func(rest []string) error) (*starter.Session, error) {
	rest, err := a.parse(fs, args)
	if err != nil {
		return nil, err
	}
	return a.openParsed(ctx, rest, check)
}

// openParsed finishes a command's checks: --sprite where the command takes
// it, then the positional arguments and the command's own flags with check
// (nil: no positional arguments). Then it returns the --session handle,
// dialling Temporal: every usage error comes before the network.
func (a *app) openParsed(ctx context.Context, rest []string, check func(rest []string) error) (*starter.Session, error) {
	if a.needSprite && a.sprite == "" {
		return nil, usagef("--sprite is required")
	}
	if check == nil {
		check = noArgs
	}
	if err := check(rest); err != nil {
		return nil, err
	}
	return a.sessionHandle(ctx)
}

// noArgs rejects positional arguments a command does not take.
func noArgs(rest []string) error {
	if len(rest) > 0 {
		return usagef("unexpected arguments %q", rest)
	}
	return nil
}

// client dials Temporal on first use.
func (a *app) client(ctx context.Context) (*starter.Client, error) {
	if a.temporal == nil {
		e, err := loadTemporalEnv(ctx, a.env)
		if err != nil {
			return nil, err
		}
		if a.address != "" {
			e.Address = a.address
		}
		if a.namespace != "" {
			e.Namespace = a.namespace
		}
		c, err := dial(ctx, e)
		if err != nil {
			return nil, err
		}
		a.temporal, a.temporalEnv = c, e
	}
	return starter.New(a.temporal, starter.WithTaskQueue(a.taskQueue)), nil
}

// sessionHandle returns the --session handle, dialling Temporal.
func (a *app) sessionHandle(ctx context.Context) (*starter.Session, error) {
	if a.session == "" {
		return nil, usagef("--session is required")
	}
	c, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Session(a.session), nil
}

func (a *app) callOptions() []starter.CallOption {
	if a.updateID == "" {
		return nil
	}
	return []starter.CallOption{starter.WithUpdateID(a.updateID)}
}

func (a *app) close() {
	if a.temporal != nil {
		a.temporal.Close()
	}
}

func (a *app) printJSON(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// emit prints v as JSON with --json, or calls human otherwise.
func (a *app) emit(v any, human func(w io.Writer)) {
	if a.json {
		a.printJSON(v)
		return
	}
	human(a.stdout)
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// envList is a repeatable KEY=VALUE flag.
type envList map[string]string

func (e envList) String() string { return fmt.Sprint(map[string]string(e)) }
func (e envList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	e[k] = val
	return nil
}
