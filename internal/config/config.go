// Package config reads a command's configuration from one table: each
// row (a Setting) names its flag, its environment variables, its default,
// its help and whether it is secret. From the table come the flags, the
// -h help (with the variables and defaults, never a secret), -print-config
// (each effective value and where it came from: default, env VAR or flag,
// secrets masked), and one error naming every variable or flag whose value
// is invalid, so that a typo stops the start-up instead of being ignored
// (docs/operations.md "Configuration").
//
// Precedence: a setting's default, then its environment variables (the
// first one set wins), then its flag. Only the winning value is parsed: a
// flag given on the command line overrides a bad variable.
//
// Bind defines a table's flags on a pflag.FlagSet (the commands' cobra
// flag sets); Parse does the same on a set of its own. Long flags take
// one dash or two ("-addr x", "--addr=x": NormalizeArgs), booleans may
// go without a value, and one-letter flags are also shorthands.
package config

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/condcache/condcache/internal/redact"
)

// Setting is one row of a configuration table.
type Setting struct {
	// Flag is the flag's name without the dash; "" = environment only.
	Flag string
	// Aliases are other names of the flag (e.g. verify's -url for -reader).
	Aliases []string
	// Env are the environment variables read, the first one set winning.
	// With From, the variables From reads, for the help.
	Env []string
	// EnvText, if set, describes the variables in the help instead of Env
	// (e.g. "CONDCACHE_PRIMARY_DSN, else POSTGRES_{DB,USER,PASSWORD,HOST,PORT}_W").
	EnvText string
	// Default is the built-in value, as text in the form the flag takes.
	Default string
	// DefaultText, if set, describes the default in the help and in
	// -print-config instead of Default (e.g. "4 × database connections").
	DefaultText string
	// Help says what the setting does.
	Help string
	// Secret values are masked (with Show, else whole) in the help,
	// -print-config and errors.
	Secret bool
	// Show, if set, formats a value for the help, -print-config and
	// errors, e.g. redact.DSN to keep a URL's host and hide its password.
	Show func(string) string
	// Value parses the winning text and stores it.
	Value Value
	// From, if set, replaces the lookup of Env: it derives the text from
	// the environment (e.g. a database URL from five variables), and
	// returns the source to report ("env POSTGRES_*_W"). ok is false when
	// the environment does not set it; an error names the variable.
	From func(env Env) (text, source string, ok bool, err error)
}

// Value is where a setting's value goes. Set parses the text; its error
// says what is wrong (the variable or flag and the value are added).
type Value interface {
	Set(string) error
	String() string
	// Type names the kind of value in the help: "duration", "int", …
	Type() string
}

// boolValue is a Value whose flag may be given without a value.
type boolValue interface{ IsBoolFlag() bool }

// Env looks up an environment variable, like os.LookupEnv.
type Env func(name string) (string, bool)

// Table is the configuration of one command.
type Table struct {
	// Command is how the command is called, e.g. "condcache writer".
	Command string
	// Synopsis follows the command in the usage line, e.g. "[flags]".
	Synopsis string
	// About is printed under the usage line.
	About    string
	Settings []Setting
}

// PrintConfigFlag is the flag every table has: print the effective
// configuration and exit.
const PrintConfigFlag = "print-config"

// ErrHelp is returned by Parse after it wrote the help (-h, -help).
var ErrHelp = errors.New("help requested")

// Config is a parsed configuration.
type Config struct {
	table   *Table
	text    []string // winning text of each setting
	sources []string // where it came from
	// PrintConfig is set by -print-config.
	PrintConfig bool
	// Args are the arguments after the flags.
	Args []string
}

// Source of a value.
const (
	SourceDefault = "default"
	sourceEnv     = "env "
	sourceFlag    = "flag -"
)

// Error lists every invalid value of a configuration.
type Error struct {
	Command  string
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Command + ": " + e.Problems[0]
	}
	return e.Command + ": invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// raw collects a flag's text; parsing waits until the winner is known.
type raw struct {
	text   string
	set    bool
	isBool bool
	kind   string
}

func (r *raw) Set(s string) error { r.text, r.set = s, true; return nil }
func (r *raw) String() string     { return r.text }
func (r *raw) Type() string       { return r.kind }
func (r *raw) IsBoolFlag() bool   { return r.isBool }

// Binding is a table's flags defined on a pflag.FlagSet (by Bind): once
// the set has parsed the command line, Resolve computes the configuration.
type Binding struct {
	table       *Table
	raws        []*raw
	printConfig bool
}

// Bind defines every flag of t, and -print-config, on fs. A flag of one
// letter is also its shorthand (-o FILE); a boolean flag may be given
// without a value. Aliases are further names of the same flag.
func (t *Table) Bind(fs *pflag.FlagSet) *Binding {
	b := &Binding{table: t, raws: make([]*raw, len(t.Settings))}
	aliases := map[string]string{}
	for i, s := range t.Settings {
		if s.Value == nil {
			panic(fmt.Sprintf("config: %s: setting %d (%s) has no Value", t.Command, i, s.name()))
		}
		if s.Flag == "" {
			continue
		}
		_, isBool := s.Value.(boolValue)
		b.raws[i] = &raw{isBool: isBool, kind: s.Value.Type()}
		name, short, others := s.Flag, "", s.Aliases
		if len(s.Flag) == 1 {
			short = s.Flag
			if len(s.Aliases) > 0 {
				// -o, --output: the first alias is the long name.
				name, others = s.Aliases[0], append([]string{s.Flag}, s.Aliases[1:]...)
			}
		}
		f := fs.VarPF(b.raws[i], name, short, s.Help)
		if isBool {
			f.NoOptDefVal = "true"
		}
		for _, a := range others {
			aliases[a] = name
		}
	}
	if len(aliases) > 0 {
		prev := fs.GetNormalizeFunc()
		fs.SetNormalizeFunc(func(f *pflag.FlagSet, name string) pflag.NormalizedName {
			if to, ok := aliases[name]; ok {
				return pflag.NormalizedName(to)
			}
			return prev(f, name)
		})
	}
	fs.BoolVar(&b.printConfig, PrintConfigFlag, false, "print the effective configuration and exit")
	return b
}

// Parse reads the configuration from the defaults, env and the flags in
// args, and stores every value. Flags are read as the commands read them
// (NormalizeArgs, then a pflag.FlagSet; parsing stops at the first
// argument that is not a flag). On -h it writes the help to help and
// returns ErrHelp. Unknown flags and invalid values are an *Error naming
// each flag or variable and its value (masked when secret).
func (t *Table) Parse(args []string, env Env, help io.Writer) (*Config, error) {
	fs := pflag.NewFlagSet(t.Command, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SetInterspersed(false)
	b := t.Bind(fs)
	if err := fs.Parse(NormalizeArgs(args, fs.Lookup)); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			t.WriteHelp(help)
			return nil, ErrHelp
		}
		return nil, t.FlagError(err)
	}
	return b.Resolve(fs.Args(), env)
}

// FlagError is the *Error of a command line the flag set refused.
func (t *Table) FlagError(err error) *Error {
	return &Error{Command: t.Command, Problems: []string{err.Error() + ` (see "` + t.Command + ` -h")`}}
}

// NormalizeArgs turns single-dash long flags into double-dash ones, so
// that the Go-style command lines condcache always took ("-addr
// 127.0.0.1:8000", "-replicas=") parse as pflag's "--addr". lookup finds
// a flag by name (pflag.FlagSet.Lookup). Nothing after "--" is touched.
func NormalizeArgs(args []string, lookup func(name string) *pflag.Flag) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			return append(out, args[i:]...)
		}
		a, takesValue := NormalizeFlag(args[i], lookup)
		out = append(out, a)
		if takesValue && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// NormalizeFlag is NormalizeArgs for one argument: "-name" and
// "-name=value" become "--name…" when name is a flag of more than one
// letter or no flag at all (so that pflag names it whole as unknown), as
// Go's flag package read them; one-letter flags and numbers ("-1") stay.
// takesValue is set when the next argument is the flag's value.
func NormalizeFlag(a string, lookup func(name string) *pflag.Flag) (out string, takesValue bool) {
	if len(a) < 2 || a[0] != '-' || a == "--" {
		return a, false
	}
	long := strings.HasPrefix(a, "--")
	name, _, hasValue := strings.Cut(a[1:], "=")
	if long {
		name, _, hasValue = strings.Cut(a[2:], "=")
	}
	f := lookup(name)
	if !long && len(name) > 1 {
		if f == nil && isNumber(name) {
			return a, false
		}
		a = "-" + a
	}
	return a, f != nil && !hasValue && f.NoOptDefVal == ""
}

// isNumber reports whether s reads as a number ("1", "1.5"), a value
// such as -max-in-flight's -1 rather than a flag.
func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Resolve computes the configuration once the flag set parsed the
// command line: args are the arguments left after the flags. Each
// setting's value is its flag's, else its first variable set, else its
// default; only that text is parsed.
func (b *Binding) Resolve(args []string, env Env) (*Config, error) {
	t := b.table
	c := &Config{table: t, text: make([]string, len(t.Settings)), sources: make([]string, len(t.Settings)), PrintConfig: b.printConfig, Args: args}
	e := &Error{Command: t.Command}
	for i, s := range t.Settings {
		text, source := s.Default, SourceDefault
		what := ""
		if s.From != nil {
			v, src, ok, err := s.From(env)
			if err != nil {
				e.Problems = append(e.Problems, err.Error())
				continue
			}
			if ok {
				text, source, what = v, src, strings.TrimPrefix(src, sourceEnv)
			}
		} else {
			for _, name := range s.Env {
				if v, ok := env(name); ok {
					text, source, what = v, sourceEnv+name, name
					break
				}
			}
		}
		if r := b.raws[i]; r != nil && r.set {
			text, source, what = r.text, sourceFlag+s.Flag, "-"+s.Flag
		}
		c.text[i], c.sources[i] = text, source
		if err := s.Value.Set(text); err != nil {
			if what == "" {
				// A default that does not parse is a bug of the table.
				panic(fmt.Sprintf("config: %s: default of %s: %v", t.Command, s.name(), err))
			}
			e.Problems = append(e.Problems, fmt.Sprintf("%s=%s: %v", what, quote(s.show(text)), err))
		}
	}
	if len(e.Problems) > 0 {
		return nil, e
	}
	return c, nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// name is how a setting is called in messages: its flag, else its first
// variable.
func (s Setting) name() string {
	switch {
	case s.Flag != "":
		return "-" + s.Flag
	case len(s.Env) > 0:
		return s.Env[0]
	}
	return "?"
}

// show formats a value of s for people.
func (s Setting) show(v string) string {
	switch {
	case s.Show != nil:
		return s.Show(v)
	case s.Secret:
		return redact.Secret(v)
	}
	return v
}

// Source reports where the value of the setting with this flag (or, for an
// environment-only one, first variable) came from: "default", "env NAME"
// or "flag -name".
func (c *Config) Source(name string) string {
	for i, s := range c.table.Settings {
		if s.Flag == name || (s.Flag == "" && len(s.Env) > 0 && s.Env[0] == name) {
			return c.sources[i]
		}
	}
	return ""
}

// Print writes the effective configuration: one line per setting, with
// its value (secrets masked) and where it came from.
func (c *Config) Print(w io.Writer) error {
	rows := [][3]string{{"setting", "value", "from"}}
	for i, s := range c.table.Settings {
		v := s.show(c.text[i])
		if c.sources[i] == SourceDefault && s.DefaultText != "" {
			if v == "" {
				v = "(" + s.DefaultText + ")"
			} else {
				v += " (" + s.DefaultText + ")"
			}
		}
		if v == "" {
			v = `""`
		}
		rows = append(rows, [3]string{s.name(), v, c.sources[i]})
	}
	width := [2]int{}
	for _, r := range rows {
		width[0], width[1] = max(width[0], len(r[0])), max(width[1], len(r[1]))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: effective configuration\n", c.table.Command)
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %-*s  %s\n", width[0], r[0], width[1], r[1], r[2])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHelp writes the usage line, About, and every setting: its flag and
// kind, its help, its default (masked when secret) and its variables.
func (t *Table) WriteHelp(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n", t.Command, t.Synopsis)
	if t.About != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimRight(t.About, "\n"))
	}
	var flags, envOnly []Setting
	for _, s := range t.Settings {
		if s.Flag != "" {
			flags = append(flags, s)
		} else {
			envOnly = append(envOnly, s)
		}
	}
	sort.SliceStable(flags, func(i, j int) bool { return flags[i].Flag < flags[j].Flag })
	if len(flags) > 0 {
		b.WriteString("\nflags (a flag overrides its environment variable, which overrides the default):\n")
		for _, s := range flags {
			kind := s.Value.Type()
			if _, ok := s.Value.(boolValue); ok {
				kind = ""
			}
			fmt.Fprintf(&b, "  -%s", s.Flag)
			if kind != "" {
				fmt.Fprintf(&b, " %s", kind)
			}
			b.WriteString("\n")
			writeSettingHelp(&b, s)
		}
	}
	fmt.Fprintf(&b, "  -%s\n        print the effective configuration (each value and where it came from,\n        secrets masked) and exit\n", PrintConfigFlag)
	if len(envOnly) > 0 {
		b.WriteString("\nenvironment only:\n")
		for _, s := range envOnly {
			fmt.Fprintf(&b, "  %s\n", s.envText())
			writeSettingHelp(&b, s)
		}
	}
	_, _ = io.WriteString(w, b.String())
}

func writeSettingHelp(b *strings.Builder, s Setting) {
	const indent = "        "
	for _, line := range strings.Split(s.Help, "\n") {
		fmt.Fprintf(b, "%s%s\n", indent, line)
	}
	var facts []string
	switch d := s.show(s.Default); {
	case s.DefaultText != "":
		facts = append(facts, "default: "+s.DefaultText)
	case d != "":
		facts = append(facts, "default "+d)
	}
	if s.Flag != "" {
		if e := s.envText(); e != "" {
			facts = append(facts, "env "+e)
		}
	}
	if len(facts) > 0 {
		fmt.Fprintf(b, "%s(%s)\n", indent, strings.Join(facts, "; "))
	}
}

func (s Setting) envText() string {
	if s.EnvText != "" {
		return s.EnvText
	}
	return strings.Join(s.Env, ", ")
}
