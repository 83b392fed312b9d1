package sql

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/condcache/condcache"
)

// BulkCreatePayloadIOVs creates IOVs attached to the lists they name
// (docs/compatibility.md "Bulk create" bulk_piov, docs/compatibility.md "bulk_piov answer"), with COPY, all or nothing.
// Every element is checked before anything is written: its range for the
// mode, its text lengths and that its list exists (else EInvalid), and that
// the list's GT is neither locked nor frozen (else ELocked: a bulk load
// bypasses the attach rules, so it must not change what a locked GT
// answers). The first bad element, by index (0-based), rejects the batch. No
// overlap handling is done, as in the reference.
func (s *Store) BulkCreatePayloadIOVs(ctx context.Context, iovs []condcache.BulkPayloadIOV) (int64, error) {
	if len(iovs) == 0 {
		return 0, nil
	}
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		lists, err := lockBulkLists(ctx, tx, iovs)
		if err != nil {
			return err
		}
		for i, v := range iovs {
			if err := s.checkNewIOV(v.PayloadURL, v.Checksum, v.Start, v.End); err != nil {
				return bulkElementError(i, v, err)
			}
			l, ok := lists[v.PayloadList]
			switch {
			case !ok:
				// A bad element makes the request invalid as a whole (400,
				// docs/compatibility.md "bulk_piov answer"), rather than a missing resource.
				return bulkElementError(i, v, condcache.Errorf(condcache.EInvalid, "PayloadList %q not found.", v.PayloadList))
			case l.gt.status == condcache.StatusLocked || l.gt.status == condcache.StatusFrozen:
				return bulkElementError(i, v, condcache.Errorf(condcache.ELocked,
					"Global Tag %s of PayloadList %s is %s: bulk loads into it are refused.",
					l.gt.name, v.PayloadList, l.gt.status))
			}
		}
		// COPY cannot call now(): take the transaction's own timestamp, the
		// value now() has in every statement of it. The statement-level
		// triggers read the COPY's rows back from its transition table,
		// which spills to disk beyond work_mem (4 MB by default: 16k
		// rows); and JIT would compile their plans for nothing.
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT now(), set_config('work_mem', '128MB', true), set_config('jit', 'off', true)`).Scan(&now, nil, nil); err != nil {
			return err
		}
		n, err = tx.CopyFrom(ctx, pgx.Identifier{"PayloadIOV"}, bulkColumns, &bulkRows{iovs: iovs, lists: lists, now: now})
		return err
	})
	if err == nil {
		s.afterLargeWrite(ctx, n)
	}
	return n, err
}

var bulkColumns = []string{"payload_url", "checksum", "size", "major_iov", "minor_iov",
	"major_iov_end", "minor_iov_end", "created", "updated", "comb_iov", "payload_list_id"}

// bulkList is a list named in a bulk load, locked FOR SHARE, with its GT.
type bulkList struct {
	id int64
	gt lockedGT // zero when the list is detached
}

// lockBulkLists locks the distinct lists the elements name FOR SHARE (they
// can be neither deleted nor moved, and attaches into them wait), then their
// GTs FOR SHARE (their status holds until commit). Unknown names are absent.
func lockBulkLists(ctx context.Context, tx pgx.Tx, iovs []condcache.BulkPayloadIOV) (map[string]bulkList, error) {
	seen := make(map[string]bool)
	var names []string
	for _, v := range iovs {
		if !seen[v.PayloadList] {
			seen[v.PayloadList] = true
			names = append(names, v.PayloadList)
		}
	}
	rows, err := tx.Query(ctx, `SELECT id, name, global_tag_id FROM "PayloadList"
		WHERE name = ANY($1) ORDER BY id FOR SHARE`, names)
	if err != nil {
		return nil, err
	}
	lists := make(map[string]bulkList, len(names))
	gtOf := make(map[string]int64)
	var gtIDs []int64
	var id int64
	var name string
	var gt *int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &name, &gt}, func() error {
		lists[name] = bulkList{id: id}
		if gt != nil {
			gtOf[name] = *gt
			gtIDs = append(gtIDs, *gt)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	gts, err := lockGTsShare(ctx, tx, gtIDs...)
	if err != nil {
		return nil, err
	}
	for name, gtID := range gtOf {
		l := lists[name]
		l.gt = gts[gtID]
		lists[name] = l
	}
	return lists, nil
}

func bulkElementError(i int, v condcache.BulkPayloadIOV, err error) error {
	var e *condcache.Error
	if !errors.As(err, &e) {
		return err
	}
	return &condcache.Error{Code: e.Code, Detail: fmt.Sprintf("element %d (payload_url %s): %s", i, v.PayloadURL, e.Detail)}
}

// bulkRows feeds COPY. comb_iov is sent as a pgtype.Numeric built from the
// exact integer major·10^19 + minor with exponent −19: pgx has no binary
// encoding for a Go string into numeric, and its text fallback would parse
// every value again.
type bulkRows struct {
	iovs  []condcache.BulkPayloadIOV
	lists map[string]bulkList
	now   time.Time
	i     int
	row   [11]any
}

var tenPow19 = new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil)

func (r *bulkRows) Next() bool {
	if r.i >= len(r.iovs) {
		return false
	}
	v := r.iovs[r.i]
	r.i++
	comb := new(big.Int).Mul(big.NewInt(v.Start.Major), tenPow19)
	comb.Add(comb, big.NewInt(v.Start.Minor))
	r.row = [11]any{v.PayloadURL, v.Checksum, v.Size, v.Start.Major, v.Start.Minor, v.End.Major, v.End.Minor,
		r.now, r.now, pgtype.Numeric{Int: comb, Exp: -19, Valid: true}, r.lists[v.PayloadList].id}
	return true
}

func (r *bulkRows) Values() ([]any, error) { return r.row[:], nil }

func (r *bulkRows) Err() error { return nil }
