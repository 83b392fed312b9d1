package localstack

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CreateDatabase creates database name on the primary and waits until every
// running replica has replayed it, so tests can connect to it anywhere.
func (s *Stack) CreateDatabase(ctx context.Context, name string) error {
	conn, err := s.Primary.Connect(ctx, "postgres")
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return s.WaitReplicated(ctx)
}

// WaitReplicated waits until every running replica has replayed the WAL the
// primary had written when it was called; with ReplicaApplyDelay that takes
// at least the delay. Stopped replicas are skipped: they catch up once
// started again. Without a deadline on ctx it gives up after 30s plus the
// apply delay.
func (s *Stack) WaitReplicated(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second+s.cfg.applyDelay)
		defer cancel()
	}
	target, err := s.Primary.walLSN(ctx)
	if err != nil {
		return err
	}
	for _, r := range s.Replicas {
		if !r.Running() {
			continue
		}
		if err := r.waitReplayed(ctx, target); err != nil {
			return err
		}
	}
	return nil
}

// walLSN returns the primary's current WAL write position. With
// synchronous_commit on, every committed transaction lies before it.
func (p *Postgres) walLSN(ctx context.Context) (string, error) {
	conn, err := p.Connect(ctx, "postgres")
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var lsn string
	if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		return "", fmt.Errorf("%s: current WAL LSN: %w", p.Name, err)
	}
	return lsn, nil
}

// waitReplayed polls the replica until it has replayed WAL up to target.
func (p *Postgres) waitReplayed(ctx context.Context, target string) error {
	conn, err := p.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var replayed string
		var done bool
		err := conn.QueryRow(ctx,
			"SELECT coalesce(pg_last_wal_replay_lsn()::text, ''), "+
				"coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false)",
			target).Scan(&replayed, &done)
		if err != nil {
			return fmt.Errorf("%s: replay LSN: %w", p.Name, err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: replayed up to %s, waiting for %s: %w", p.Name, replayed, target, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
