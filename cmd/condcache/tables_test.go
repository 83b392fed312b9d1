package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/cli"
)

// TestTablesAreTheFlags: every flag of every command's configuration
// table is a flag of its cobra command, under one dash or two, so adding
// a setting to a table is all it takes to add a flag; the client
// commands all take the connection table's flags.
func TestTablesAreTheFlags(t *testing.T) {
	root := rootCommand(envOf(nil), cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	find := func(name string) *cobra.Command {
		for _, c := range root.Commands() {
			if c.Name() == name {
				return c
			}
		}
		return nil
	}
	check := func(cmd *cobra.Command, table string, flag string) {
		t.Helper()
		f := cmd.Flags().Lookup(flag)
		if len(flag) == 1 {
			f = cmd.Flags().ShorthandLookup(flag)
		}
		if f == nil {
			t.Errorf("condcache %s: the table's -%s is no flag of the command (%s)", cmd.CommandPath(), flag, table)
			return
		}
		args := cli.NormalizeArgs(root, []string{cmd.Name(), "-" + flag})
		if len(flag) > 1 && args[1] != "--"+flag {
			t.Errorf("condcache %s -%s reads as %q", cmd.Name(), flag, args)
		}
	}
	for name, c := range commandTables() {
		if name == "client" {
			continue
		}
		cmd := find(name)
		if cmd == nil {
			t.Errorf("no command %s", name)
			continue
		}
		for _, s := range c.table().Settings {
			if s.Flag != "" {
				check(cmd, name, s.Flag)
			}
		}
	}
	conn := commandTables()["client"].table()
	for _, name := range []string{"ping", "gt", "pt", "pl", "iov", "lookup", "notice", "audit", "payload", "repo"} {
		cmd := find(name)
		if cmd == nil {
			t.Errorf("no command %s", name)
			continue
		}
		for _, s := range conn.Settings {
			if s.Flag == "" {
				continue
			}
			if cmd.PersistentFlags().Lookup(s.Flag) == nil && cmd.PersistentFlags().ShorthandLookup(s.Flag) == nil {
				t.Errorf("condcache %s lacks the connection flag -%s", name, s.Flag)
			}
		}
	}
}
