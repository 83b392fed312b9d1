package pgdata

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/condcache/condcache/internal/localstack"
	cdbsql "github.com/condcache/condcache/sql"
)

// WriteStackOptions configures StartWriteStack.
type WriteStackOptions struct {
	// Binary is the condcache executable; "" = this process's own.
	Binary string
	// Settings are extra PostgreSQL settings (make run's: shared_buffers).
	Settings map[string]string
	// Progress receives progress messages; nil = os.Stderr.
	Progress io.Writer
	// DropReferenceIndexes takes the opt-in step of docs/operations.md
	// "Reference indexes" before anything is measured.
	DropReferenceIndexes bool
}

// WriteStack is the stack `condcache loadtest writes` measures
// (loadtest.Writes): PostgreSQL primary with a streaming replica, Redis, a
// writer and a reader, as `make run` starts them (durable: fsync on), in a
// temporary directory on free ports. Stop it when done.
type WriteStack struct {
	dir     string
	stack   *localstack.Stack
	servers *localstack.Servers
}

// StartWriteStack starts a WriteStack with an empty, migrated database.
func StartWriteStack(ctx context.Context, o WriteStackOptions) (_ *WriteStack, err error) {
	progress := o.Progress
	if progress == nil {
		progress = os.Stderr
	}
	binary := o.Binary
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	w := &WriteStack{}
	if w.dir, err = os.MkdirTemp("", "condcache-writes-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = w.Stop()
		}
	}()
	w.stack, err = localstack.Start(ctx, localstack.Options{Dir: w.dir, Replicas: 1, Redis: true,
		Settings: o.Settings, Log: progress})
	if err != nil {
		return nil, err
	}
	if err := w.stack.CreateDatabase(ctx, "writes"); err != nil {
		return nil, err
	}
	if w.servers, err = w.stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: "writes"}); err != nil {
		return nil, err
	}
	if o.DropReferenceIndexes {
		if err := cdbsql.DropReferenceIndexes(ctx, w.stack.Primary.DSN("writes")); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// WriterURL is the writer's base URL.
func (w *WriteStack) WriterURL() string { return w.servers.WriterURL }

// WaitReplicated waits for the replica (localstack.Stack.WaitReplicated).
func (w *WriteStack) WaitReplicated(ctx context.Context) error { return w.stack.WaitReplicated(ctx) }

// Stop stops the servers and the stack and removes the directory.
func (w *WriteStack) Stop() error {
	var errs []error
	if w.servers != nil {
		errs = append(errs, w.servers.Stop())
	}
	if w.stack != nil {
		errs = append(errs, w.stack.Stop())
	}
	if w.dir != "" {
		errs = append(errs, os.RemoveAll(w.dir))
	}
	return errors.Join(errs...)
}
