// Package cli is the client side of the condcache command: the commands
// a calibration expert runs against any server speaking the compatible
// API (gt, pt, pl, iov, lookup, notice, audit, payload put), a small typed
// HTTP client of the compatible and v2 APIs (Client), human tables and
// JSON output, the exit codes, the connection settings (flags, the
// CONDCACHE_URL and CONDCACHE_TOKEN variables, a config file), and the
// glue that puts a configuration table (internal/config) on a cobra
// command (docs/operations.md "Client commands").
//
// cmd/condcache only wires it: it builds the root command, adds the
// server commands, and calls Execute.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
)

// Exit codes of every command (docs/operations.md "Exit codes").
const (
	ExitOK          = 0 // done; nothing found
	ExitFound       = 1 // the command found problems (check findings, missing files, differences)
	ExitUsage       = 2 // bad flags or arguments, unreadable input, a question left unanswered, interrupted
	ExitRefused     = 3 // the server refused the request (4xx): its detail is printed
	ExitUnreachable = 4 // the server could not be reached or failed (connection, timeout, 5xx)
)

// ExitError ends a command with Code; Err, when not nil, is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit is an error that ends the command with code; err may be nil
// (the command already said what it found).
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// Usagef is a usage error (exit 2) with its message.
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Streams are where commands read and print; tests give their own.
type Streams struct {
	In          io.Reader
	Out, Err    io.Writer
	interactive *bool // set by tests: In is a terminal
}

// Terminal reports whether w is a terminal (a character device): progress
// bars and questions only go to one.
func Terminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// Interactive reports whether the input is a terminal a person answers on.
func (s Streams) Interactive() bool {
	if s.interactive != nil {
		return *s.interactive
	}
	return Terminal(s.In)
}

// TableCommand is a command whose flags are those of the configuration
// table t, bound to the command's flag set: cobra parses the command
// line, the table then resolves every setting (flag, variable, default)
// and run gets the configuration. --print-config prints it and exits;
// -h prints the table's help (with the variables and defaults).
func TableCommand(use, short string, t *config.Table, env config.Env, s Streams, run func(ctx context.Context, c *config.Config) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	b := t.Bind(cmd.Flags())
	cmd.SetHelpFunc(func(*cobra.Command, []string) { t.WriteHelp(s.Err) })
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := b.Resolve(args, env)
		if err != nil {
			return err
		}
		if c.PrintConfig {
			return c.Print(s.Out)
		}
		return run(cmd.Context(), c)
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return t.FlagError(err) })
	return cmd
}

// Execute runs root on args and returns the exit status. Single-dash
// long flags are read as double-dash ones first (NormalizeArgs). Errors
// are printed on stderr, the server's detail included and the secrets
// never (hide), and give the exit codes above; an error of another kind
// (a server command that failed) goes to fail, which returns the status.
func Execute(ctx context.Context, root *cobra.Command, args []string, s Streams, fail func(cmd string, err error) int) int {
	root.SetArgs(NormalizeArgs(root, args))
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SilenceErrors, root.SilenceUsage = true, true
	started := false
	name := "condcache"
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { started, name = true, cmd.CommandPath() }
	err := root.ExecuteContext(ctx)
	if err == nil || errors.Is(err, config.ErrHelp) {
		return ExitOK
	}
	var exit *ExitError
	var cerr *config.Error
	var aerr *APIError
	var uerr *UnreachableError
	switch {
	case errors.As(err, &exit):
		if exit.Err != nil {
			fmt.Fprintf(s.Err, "%s: %s\n", name, hideSecrets(exit.Err.Error()))
		}
		return exit.Code
	case errors.As(err, &cerr):
		fmt.Fprintln(s.Err, hideSecrets(cerr.Error()))
		return ExitUsage
	case errors.As(err, &aerr):
		fmt.Fprintf(s.Err, "%s: %s\n", name, hideSecrets(err.Error()))
		if aerr.Status >= 500 {
			return ExitUnreachable
		}
		return ExitRefused
	case errors.As(err, &uerr):
		fmt.Fprintf(s.Err, "%s: %s\n", name, hideSecrets(err.Error()))
		return ExitUnreachable
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(s.Err, "%s: interrupted\n", name)
		return ExitUsage
	case !started:
		// cobra refused the command line: unknown command, flag or argument count.
		fmt.Fprintf(s.Err, "%s: %s\nRun \"%s --help\" for usage.\n", name, err, name)
		return ExitUsage
	}
	return fail(name, err)
}

// secrets are the values no message may show: the tokens the commands
// were given (a token need not look like a JWT).
var (
	secretsMu sync.Mutex
	secrets   []string
)

// HideSecret adds a value messages must never show.
func HideSecret(v string) {
	if v == "" {
		return
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	secrets = append(secrets, v)
}

// hideSecrets hides the secrets and any credential (bearer tokens, JWTs,
// passwords in URLs) in a message.
func hideSecrets(msg string) string {
	secretsMu.Lock()
	hide := redact.Values(secrets...)
	secretsMu.Unlock()
	return redact.Credentials(hide(msg))
}

// NormalizeArgs rewrites single-dash long flags ("-addr x") as pflag's
// double-dash ones ("--addr x") for the command the arguments name,
// walking root's subcommands as cobra will (config.NormalizeFlag): the
// command lines condcache always took keep working. Completion requests
// ("__complete …") are left alone but for the word being completed.
func NormalizeArgs(root *cobra.Command, args []string) []string {
	cmd := root
	out := make([]string, 0, len(args))
	last := len(args)
	if len(args) > 0 && strings.HasPrefix(args[0], "__complete") {
		last = len(args) - 1
	}
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		if f := cmd.InheritedFlags().Lookup(name); f != nil {
			return f
		}
		if name == "help" {
			return &pflag.Flag{Name: "help", NoOptDefVal: "true"}
		}
		return nil
	}
	positional := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || i >= last {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			n, takesValue := config.NormalizeFlag(a, lookup)
			out = append(out, n)
			if takesValue && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		if !positional {
			if sub := subcommand(cmd, a); sub != nil {
				cmd = sub
			} else if cmd != root || !strings.HasPrefix(a, "__") {
				positional = true
			}
		}
		out = append(out, a)
	}
	return out
}

func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}
