package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
)

// DefaultURL is the server the commands talk to without --url: a local
// reader (Nopayloaddb clients' default).
const DefaultURL = "http://127.0.0.1:8000"

// EnvConfigFile names the config file instead of the default one.
const EnvConfigFile = "CONDCACHE_CONFIG"

// File is the config file (docs/operations.md "Config file"): YAML with
// the server's url and a token, read when neither flag nor variable says.
type File struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
}

// ConfigPath is the config file's path: CONDCACHE_CONFIG, else
// condcache/config.yaml in the user's config directory
// ($XDG_CONFIG_HOME or ~/.config on Linux).
func ConfigPath(env config.Env) (string, error) {
	if p, ok := env(EnvConfigFile); ok && p != "" {
		return p, nil
	}
	dir := ""
	if v, ok := env("XDG_CONFIG_HOME"); ok && filepath.IsAbs(v) {
		dir = v
	} else {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		dir = d
	}
	return filepath.Join(dir, "condcache", "config.yaml"), nil
}

// ReadFile reads the config file; a missing file is an empty one, unless
// CONDCACHE_CONFIG named it. Unknown keys are refused.
func ReadFile(env config.Env) (File, string, error) {
	var f File
	path, err := ConfigPath(env)
	if err != nil {
		return f, "", nil // no config directory: no file
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if p, ok := env(EnvConfigFile); ok && p != "" {
			return f, path, fmt.Errorf("%s=%q: no such file", EnvConfigFile, p)
		}
		return f, path, nil
	}
	if err != nil {
		return f, path, fmt.Errorf("config file %s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, errEOF) {
		return f, path, fmt.Errorf("config file %s: not a condcache config (url: URL, token: TOKEN): %s", path, redact.Credentials(err.Error()))
	}
	return f, path, nil
}

// fromFile is a Setting's From: the variables first, else the config
// file's value (get), reported as "file PATH".
func fromFile(vars []string, get func(File) string) func(env config.Env) (string, string, bool, error) {
	return func(env config.Env) (string, string, bool, error) {
		for _, v := range vars {
			if s, ok := env(v); ok {
				return s, "env " + v, true, nil
			}
		}
		f, path, err := ReadFile(env)
		if err != nil {
			return "", "", false, err
		}
		if s := get(f); s != "" {
			return s, "file " + path, true, nil
		}
		return "", "", false, nil
	}
}

// URLSetting is the --url row every client command shares: the flag,
// else the variables (CONDCACHE_URL), else the config file's url, else
// DefaultURL. extra are variables read before CONDCACHE_URL (verify's
// CONDCACHE_READER_URL).
func URLSetting(p *string, flag, help string, extra ...string) config.Setting {
	vars := append(append([]string{}, extra...), "CONDCACHE_URL")
	return config.Setting{Flag: flag, Env: vars, Default: DefaultURL, Show: redact.Credentials,
		EnvText: joinVars(vars) + ", else the config file's url",
		Help:    help, Value: HTTPURL(p, false), From: fromFile(vars, func(f File) string { return f.URL })}
}

// TokenSetting is --token: the flag, else CONDCACHE_TOKEN, else the config
// file's token. It is secret: never shown, and hidden in every message.
func TokenSetting(p *string) config.Setting {
	vars := []string{"CONDCACHE_TOKEN"}
	return config.Setting{Flag: "token", Env: vars, EnvText: "CONDCACHE_TOKEN, else the config file's token", DefaultText: "none", Secret: true,
		Help: "JWT sent as \"Authorization: Bearer\" with writes, when the writer authenticates",
		Value: config.Func("string", func(s string) error {
			*p = s
			HideSecret(s)
			return nil
		}), From: fromFile(vars, func(f File) string { return f.Token })}
}

func joinVars(vars []string) string {
	out := ""
	for i, v := range vars {
		if i > 0 {
			out += ", else "
		}
		out += v
	}
	return out
}

// HTTPURL stores an http(s) base URL ("" only when allowEmpty).
func HTTPURL(p *string, allowEmpty bool) config.Value {
	return config.Func("URL", func(s string) error {
		if s != "" || !allowEmpty {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("not an http(s) URL")
			}
		}
		*p = s
		return nil
	})
}

// Conn is how a client command reaches its server, and how it prints.
type Conn struct {
	URL     string
	Token   string
	Output  string // "table" or "json"
	Timeout time.Duration
}

// ConnTable is the table of the connection settings every client command
// takes (--url, --token, -o, --timeout): CONDCACHE_URL, CONDCACHE_TOKEN
// and the config file (CONDCACHE_CONFIG) stand in for the flags.
func ConnTable(command string, c *Conn) *config.Table {
	return &config.Table{Command: command, Synopsis: "[flags]", Settings: []config.Setting{
		URLSetting(&c.URL, "url", "base URL of a condcache reader (or any server speaking the compatible API)"),
		TokenSetting(&c.Token),
		{Flag: "o", Aliases: []string{"output"}, Default: "table", Help: `output: "table" (for people) or "json" (stable, for scripts)`,
			Value: config.OneOf(&c.Output, "table", "json")},
		{Flag: "timeout", Default: "10m", Help: "bound on each request", Value: config.Duration(&c.Timeout)},
		{Env: []string{EnvConfigFile}, DefaultText: "condcache/config.yaml in the user's config directory",
			Help: "config file (YAML: url, token) read when neither flag nor variable gives them", Value: config.String(new(string))},
	}}
}

// Group is a command holding client subcommands (gt, iov, …): its
// persistent flags are the connection table's, resolved for every
// subcommand before it runs.
type Group struct {
	Cmd  *cobra.Command
	Conn *Conn
	env  config.Env
	b    *config.Binding
	t    *config.Table
}

// NewGroup is a client command (use, short) with the connection flags.
func NewGroup(use, short string, env config.Env) *Group {
	g := &Group{Cmd: &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs}, Conn: &Conn{}, env: env}
	g.Cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return Usagef("unknown command %q for %q (see \"%s --help\")", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return cmd.Help()
	}
	g.t = ConnTable("condcache "+use, g.Conn)
	g.b = g.t.Bind(g.Cmd.PersistentFlags())
	return g
}

// Resolve reads the connection settings; printed is set when
// --print-config printed them (the command is then done).
func (g *Group) Resolve(s Streams) (printed bool, err error) {
	c, err := g.b.Resolve(nil, g.env)
	if err != nil {
		return false, err
	}
	if c.PrintConfig {
		return true, c.Print(s.Out)
	}
	return false, nil
}

// Client is the HTTP client of the group's server.
func (g *Group) Client(s Streams) *Client {
	return NewClient(g.Conn.URL, g.Conn.Token, g.Conn.Timeout)
}

// Leaf adds a subcommand whose run gets the context and the client once
// the connection settings are resolved.
func (g *Group) Leaf(parent *cobra.Command, cmd *cobra.Command, s Streams, run func(ctx context.Context, c *Client, args []string) error) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		printed, err := g.Resolve(s)
		if err != nil || printed {
			return err
		}
		return run(cmd.Context(), g.Client(s), args)
	}
	if cmd.Args == nil {
		cmd.Args = cobra.NoArgs
	}
	cmd.Args = usageArgs(cmd.Args)
	parent.AddCommand(cmd)
	return cmd
}

// usageArgs makes an argument-count refusal a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return Usagef("%v (see \"%s --help\")", err, cmd.CommandPath())
		}
		return nil
	}
}
