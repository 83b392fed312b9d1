package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/condcache/condcache/loadtest"
)

// runLoadtest runs a loadtest workload against running servers.
func runLoadtest(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "freshness" {
		return errors.New(`usage: condcache loadtest freshness [flags] (run "condcache loadtest freshness -h")`)
	}
	fs := flag.NewFlagSet("loadtest freshness", flag.ContinueOnError)
	readerURL := fs.String("reader", "http://127.0.0.1:8000", "reader base URL (lookups)")
	writerURL := fs.String("writer", "", "writer base URL (writes); default: the reader, which forwards them")
	rounds := fs.Int("rounds", 300, "write-then-read rounds")
	perRound := fs.Int("lookups", 3, "lookups after each write")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *writerURL == "" {
		*writerURL = *readerURL
	}
	rep, err := loadtest.CheckFreshness(ctx, loadtest.FreshnessOptions{
		Writer: loadtest.NewClient(*writerURL), Reader: loadtest.NewClient(*readerURL),
		Rounds: *rounds, LookupsPerRound: *perRound, Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Print(rep)
	if !rep.OK() {
		return errors.New("freshness check failed")
	}
	return nil
}
