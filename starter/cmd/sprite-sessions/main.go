// Command sprite-sessions drives sprite sessions from a shell: every session
// operation is a command, with human output by default and --json for
// scripts.
//
//	sprite-sessions create --session s1 --sprite web
//	sprite-sessions exec   --session s1 --sprite web -- 'echo hello'
//	sprite-sessions demo
//
// Exit codes: 0 success; 1 the operation failed (for exec, the command exited
// non-zero; for risky, a step failed and the sprites were restored, or the
// session kept refusing new work while it moved to a new run: try again); 2
// bad usage or a request the session rejected.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-envconfig"

	"github.com/sprite-sessions/sprite-sessions/starter"
)

const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	programName  = "sprite-sessions"
	usageSummary = `usage: sprite-sessions <command> [flags] [args]

Session commands (--session ID is required):
  create      create a sprite                     --sprite NAME [--cpus N] [--memory-mb N] [--public]
  exec        run a command                       --sprite NAME [--dir D] [--env K=V] [--timeout 2m] -- COMMAND...
  read        print a file                        --sprite NAME PATH
  write       write a file                        --sprite NAME PATH (--content TEXT | --from FILE|-) [--mode 0644]
  list        list the session's sprites
  delete      delete a sprite                     --sprite NAME
  checkpoint  checkpoint a sprite                 --sprite NAME [--comment TEXT]
  restore     restore a checkpoint                --sprite NAME --checkpoint ID
  url         show a sprite's URL                 --sprite NAME
  risky       run steps, restore on failure       --sprite NAME[,NAME] --step CMD... [--verify CMD]
  end         end the session, deleting its sprites [--reason TEXT]
  describe    show the session's state

Other commands:
  tools       print the operations as LLM tool definitions (JSON) [--format anthropic|openai]
  demo        run a scripted session that shows the product [--session ID]

Every command takes --json (machine-readable output), --task-queue, --update-id,
--address and --namespace. The Temporal connection comes from TEMPORAL_ADDRESS
(default localhost:7233), TEMPORAL_NAMESPACE (default default), TEMPORAL_API_KEY and
TEMPORAL_TLS*; --address and --namespace override the first two.
Run "sprite-sessions <command> -h" for a command's flags.
`
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, envconfig.OsLookuper())
	stop()
	os.Exit(code)
}

// usageError is bad command-line input: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCodeError ends the program with a code after the command printed its
// own report (an exec that exited non-zero, a restored risky step).
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env envconfig.Lookuper) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usageSummary)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	defer a.close()
	name := args[0]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", programName, name, usageSummary)
		return exitUsage
	}
	err := cmd(ctx, a, name, args[1:])
	return a.report(name, err)
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var usage *usageError
	var rejected *starter.RejectedError
	var code *exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &code):
		return code.code
	case errors.As(err, &rejected) && rejected.Continuing:
		return exitFailed // the request was fine; the session was busy moving
	case errors.As(err, &usage), errors.As(err, &rejected):
		return exitUsage
	}
	return exitFailed
}

// report prints err (unless the command already did) and returns the exit
// code. With --json, errors are printed as JSON on stdout too, so scripts
// read one stream.
func (a *app) report(name string, err error) int {
	code := exitCode(err)
	var already *exitCodeError
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.As(err, &already) {
		return code
	}
	if a.json {
		a.printJSON(errorJSON(err))
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(a.stderr, "%s %s: %v (see %s %s -h)\n", programName, name, err, programName, name)
		return code
	}
	fmt.Fprintf(a.stderr, "%s %s: %v\n", programName, name, err)
	return code
}

// errorJSON is the --json shape of an error.
func errorJSON(err error) map[string]any {
	out := map[string]any{"error": err.Error()}
	var rejected *starter.RejectedError
	var opErr *starter.OperationError
	var usage *usageError
	switch {
	case errors.As(err, &rejected):
		out["kind"], out["message"] = "rejected", rejected.Message
		if rejected.Continuing {
			out["retry"] = true
		}
	case errors.As(err, &opErr):
		out["kind"], out["type"], out["message"] = "failed", opErr.Type, opErr.Message
	case errors.As(err, &usage):
		out["kind"] = "usage"
	case errors.Is(err, starter.ErrSessionNotFound):
		out["kind"] = "session_not_found"
	case errors.Is(err, starter.ErrSessionClosed):
		out["kind"] = "session_closed"
	default:
		out["kind"] = "error"
	}
	return out
}
