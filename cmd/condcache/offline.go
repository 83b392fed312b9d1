package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/reader"
	"github.com/condcache/condcache/sqlite"
	"github.com/condcache/condcache/ui"
)

// runOfflineReader is `condcache reader -sqlite FILE` (docs/design.md
// "Export and offline serving"): the read API of one exported GT from the
// file, read-only, with no database, cache or writer.
func runOfflineReader(ctx context.Context, s *readerSettings, c *config.Config, e config.Env, logger *slog.Logger) error {
	rd, err := sqlite.Open(s.sqlite)
	if err != nil {
		return err
	}
	defer rd.Close()
	info := rd.Info()
	if src := c.Source("iov-mode"); src != "default" && s.mode != info.IOVMode {
		return fmt.Errorf("-iov-mode %s (%s) differs from the export file's %s: leave it unset", s.mode, src, info.IOVMode)
	}
	logger.Info("serving an export file offline", "file", s.sqlite, "global_tag", info.GlobalTag, "generation", info.Generation,
		"iovs", info.IOVs, "source", info.Source, "exported_at", info.ExportedAt, "digest", info.Digest)
	reg := newRegistry()
	srv := reader.New(rd, reader.Config{
		Addr:               s.addr,
		IOVMode:            info.IOVMode,
		Settings:           cdbSettings(e),
		Logger:             logger,
		Ranges:             rd,
		ReadOnly:           true,
		UI:                 ui.New(ui.Config{Read: rd, Ranges: rd, IOVMode: info.IOVMode, ReadOnly: true, Logger: logger}).Handler,
		Metrics:            api.NewHTTPMetrics(reg),
		Gatherer:           reg,
		HeaderTimeout:      s.serve.headerTimeout,
		ReadTimeout:        s.serve.bodyTimeout,
		MaxRequestBodySize: s.serve.maxBody,
		Admission:          s.serve.admission(s.maxConns),
		ShutdownDelay:      s.serve.shutdownDelay,
	})
	return serve(ctx, srv, s.addr, s.serve.shutdownDelay, s.serve.drain, logger, "offline reader")
}

// exportSource names this reader in the files it exports: host name and
// listen port.
func exportSource(addr string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return host + ":" + port
	}
	return host
}

// buildVersion is the condcache build: the module version and, when the
// build recorded it, the VCS revision.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, st := range bi.Settings {
		if st.Key == "vcs.revision" {
			v += " " + st.Value
		}
	}
	return v
}
