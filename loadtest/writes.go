package loadtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
)

// WriteStack is what Writes measures: a writer on a PostgreSQL primary
// with a streaming replica (pgdata.StartWriteStack starts one, configured
// like `make run`).
type WriteStack interface {
	WriterURL() string
	// WaitReplicated returns once the replica has replayed everything the
	// primary had written when it was called.
	WaitReplicated(ctx context.Context) error
	Stop() error
}

// WritesOptions configures Writes.
type WritesOptions struct {
	Rows  int // IOV rows per bulk load, and so per cloned GT
	Types int // payload types: one list of each per GT, Rows/Types IOVs per list
	Batch int // IOVs per bulk_piov body
	Runs  int // repetitions: the report gives each and their median
	// Stdout receives the report, Progress the progress; nil = os.Stdout,
	// os.Stderr.
	Stdout, Progress io.Writer
	// AfterRuns, if set, runs after the last run, before the stack stops.
	AfterRuns func(ctx context.Context) error
}

// WriteRun is one repetition of Writes.
type WriteRun struct {
	Rows          int
	BulkSeconds   float64 // first bulk_piov sent to last answered
	BulkReplSecs  float64 // … until the replica has replayed it
	CloneSeconds  float64 // cloneGlobalTag sent to answered
	CloneReplSecs float64 // … until the replica has replayed it
}

// RowsPerSecond is the bulk load's rate, acknowledged.
func (r WriteRun) RowsPerSecond() float64 { return float64(r.Rows) / r.BulkSeconds }

// Writes is `condcache loadtest writes`, on stack, which it stops: per
// run, a new GT with o.Types lists is loaded with o.Rows IOVs through the
// writer's bulk_piov in bodies of o.Batch (bodies encoded before the clock
// starts, sent one after the other as a loader would), then cloned with
// cloneGlobalTag. Times are to the writer's answer, and to the replica's
// replay of it. It returns the runs.
func Writes(ctx context.Context, stack WriteStack, o WritesOptions) ([]WriteRun, error) {
	defer stack.Stop()
	stdout, progress := o.Stdout, o.Progress
	if stdout == nil {
		stdout = os.Stdout
	}
	if progress == nil {
		progress = os.Stderr
	}
	if o.Types < 1 || o.Rows < o.Types || o.Batch < 1 || o.Runs < 1 {
		return nil, fmt.Errorf("loadtest writes: want rows ≥ types ≥ 1, batch ≥ 1 and runs ≥ 1")
	}
	c := NewClient(stack.WriterURL())
	c.HTTP.Timeout = 10 * time.Minute
	for _, s := range []string{"unlocked", "locked", "frozen"} {
		if err := c.CreateStatus(ctx, s); err != nil {
			return nil, err
		}
	}
	types := make([]string, o.Types)
	for i := range types {
		types[i] = fmt.Sprintf("writes_type_%d", i)
		if err := c.CreatePayloadType(ctx, types[i]); err != nil {
			return nil, err
		}
	}
	var runs []WriteRun
	for r := range o.Runs {
		run, err := writeRun(ctx, c, stack, o, types, fmt.Sprintf("writes_%d_%d", time.Now().Unix(), r))
		if err != nil {
			return runs, err
		}
		fmt.Fprintf(progress, "run %d: bulk %d rows in %.2f s (%.0f rows/s, replayed after %.2f s); clone %.2f s (replayed after %.2f s)\n",
			r+1, run.Rows, run.BulkSeconds, run.RowsPerSecond(), run.BulkReplSecs, run.CloneSeconds, run.CloneReplSecs)
		runs = append(runs, run)
	}
	WriteWritesReport(stdout, o, runs)
	if o.AfterRuns != nil {
		if err := o.AfterRuns(ctx); err != nil {
			return runs, err
		}
	}
	return runs, nil
}

func writeRun(ctx context.Context, c *Client, stack WriteStack, o WritesOptions, types []string, gt string) (WriteRun, error) {
	run := WriteRun{Rows: o.Rows}
	if err := c.CreateGlobalTag(ctx, gt, "loadtest writes"); err != nil {
		return run, err
	}
	lists := make([]string, len(types))
	for i, t := range types {
		var err error
		if lists[i], err = c.CreateAttachedList(ctx, gt, t); err != nil {
			return run, err
		}
	}
	bodies := BulkBodies(lists, o.Rows, o.Batch)
	if err := stack.WaitReplicated(ctx); err != nil {
		return run, err
	}
	began := time.Now()
	for _, b := range bodies {
		if err := c.post(ctx, "bulk_piov", b); err != nil {
			return run, err
		}
	}
	run.BulkSeconds = time.Since(began).Seconds()
	if err := stack.WaitReplicated(ctx); err != nil {
		return run, err
	}
	run.BulkReplSecs = time.Since(began).Seconds()
	began = time.Now()
	if err := c.post(ctx, "cloneGlobalTag/"+gt+"/"+gt+"_clone", nil); err != nil {
		return run, err
	}
	run.CloneSeconds = time.Since(began).Seconds()
	if err := stack.WaitReplicated(ctx); err != nil {
		return run, err
	}
	run.CloneReplSecs = time.Since(began).Seconds()
	return run, nil
}

// BulkBodies encodes rows IOVs spread evenly over lists as bulk_piov bodies
// of at most batch elements: list k's i-th IOV starts at run 1000 + 10·i
// (every fifth at subrun 5) and ends where the next starts, the last one
// open-ended; the elements go list by list, in start order.
func BulkBodies(lists []string, rows, batch int) [][]byte {
	var bodies [][]byte
	var b bytes.Buffer
	n := 0
	flush := func() {
		if n > 0 {
			b.WriteByte(']')
			bodies = append(bodies, slices.Clone(b.Bytes()))
		}
		b.Reset()
		n = 0
	}
	per := rows / len(lists)
	for k, list := range lists {
		count := per
		if k < rows%len(lists) {
			count++
		}
		for i := range count {
			if n == batch {
				flush()
			}
			if n == 0 {
				b.WriteByte('[')
			} else {
				b.WriteByte(',')
			}
			n++
			major, minor := int64(1000+10*i), int64(0)
			if i%5 == 4 {
				minor = 5
			}
			url := fmt.Sprintf("/cvmfs/sphenix.sdcc.bnl.gov/calibrations/%s/run%08d-%d.root", list, major, minor)
			sum := md5.Sum([]byte(url))
			b.WriteString(`{"payload_list":"`)
			b.WriteString(list)
			b.WriteString(`","payload_url":"`)
			b.WriteString(url)
			b.WriteString(`","checksum":"`)
			b.WriteString(hex.EncodeToString(sum[:]))
			b.WriteString(`","size":`)
			b.WriteString(strconv.Itoa(100_000 + i))
			b.WriteString(`,"major_iov":`)
			b.WriteString(strconv.FormatInt(major, 10))
			b.WriteString(`,"minor_iov":`)
			b.WriteString(strconv.FormatInt(minor, 10))
			if i+1 < count {
				next, nextMinor := major+10, int64(0)
				if (i+1)%5 == 4 {
					nextMinor = 5
				}
				b.WriteString(`,"major_iov_end":`)
				b.WriteString(strconv.FormatInt(next, 10))
				b.WriteString(`,"minor_iov_end":`)
				b.WriteString(strconv.FormatInt(nextMinor, 10))
			}
			b.WriteByte('}')
		}
	}
	flush()
	return bodies
}

// post sends a raw JSON body (nil: none) and wants a 200.
func (c *Client) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/api/cdb_rest/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{Method: http.MethodPost, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	return nil
}

// WriteWritesReport prints the runs and their medians against issue 17's
// targets (bulk ≥ 200,000 rows/s, clone of 1M rows ≤ 15 s).
func WriteWritesReport(w io.Writer, o WritesOptions, runs []WriteRun) {
	fmt.Fprintf(w, "condcache loadtest writes -rows %d -types %d -batch %d -runs %d\n", o.Rows, o.Types, o.Batch, o.Runs)
	fmt.Fprintf(w, "%-5s %12s %10s %12s %10s %12s\n", "run", "bulk rows/s", "bulk s", "+replayed s", "clone s", "+replayed s")
	for i, r := range runs {
		fmt.Fprintf(w, "%-5d %12.0f %10.2f %12.2f %10.2f %12.2f\n", i+1, r.RowsPerSecond(), r.BulkSeconds, r.BulkReplSecs, r.CloneSeconds, r.CloneReplSecs)
	}
	med := func(f func(WriteRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	rate := med(WriteRun.RowsPerSecond)
	clone := med(func(r WriteRun) float64 { return r.CloneSeconds })
	fmt.Fprintf(w, "%-5s %12.0f %10.2f %12.2f %10.2f %12.2f\n", "med", rate,
		med(func(r WriteRun) float64 { return r.BulkSeconds }), med(func(r WriteRun) float64 { return r.BulkReplSecs }),
		clone, med(func(r WriteRun) float64 { return r.CloneReplSecs }))
	// The clone target is for a 1M-row GT: scale a smaller one linearly.
	cloneAt1M := clone * 1e6 / float64(o.Rows)
	fmt.Fprintf(w, "target bulk ≥ 200000 rows/s: %.0f (%.2f×)\n", rate, rate/200_000)
	fmt.Fprintf(w, "target clone of 1M rows ≤ 15 s: %.2f s (%.2f×)\n", cloneAt1M, 15/cloneAt1M)
}
