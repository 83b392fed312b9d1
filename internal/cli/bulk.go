package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// DefaultChunk is the rows per bulk_piov request of `iov bulk`.
const DefaultChunk = 10000

// bulkSpec is `iov bulk`: a file of IOVs loaded with bulk_piov.
type bulkSpec struct {
	writeFlags
	list  string
	chunk int
}

func (b *bulkSpec) flags(cmd *cobra.Command) {
	b.addDryRun(cmd)
	cmd.Flags().StringVar(&b.list, "list", "", "payload list of the rows that name none")
	cmd.Flags().IntVar(&b.chunk, "chunk", DefaultChunk, "rows per request, each one transaction (0: the whole file in one request, all or nothing)")
}

// bulkColumns are the keys of a bulk_piov element: a CSV file's header
// names some of them (payload_url, major_iov and minor_iov at least).
var bulkColumns = map[string]bool{"payload_url": true, "checksum": true, "size": true, "major_iov": true, "minor_iov": true,
	"major_iov_end": true, "minor_iov_end": true, "payload_list": true}

var intColumns = map[string]bool{"size": true, "major_iov": true, "minor_iov": true, "major_iov_end": true, "minor_iov_end": true}

// readBulk reads the rows of a .csv or .json file.
func readBulk(path, list string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Usagef("%v", err)
	}
	var rows []map[string]any
	switch {
	case strings.HasSuffix(strings.ToLower(path), ".json"):
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&rows); err != nil {
			return nil, Usagef("%s: not a JSON array of IOV objects: %v", path, err)
		}
	case strings.HasSuffix(strings.ToLower(path), ".csv"):
		r := csv.NewReader(bytes.NewReader(data))
		header, err := r.Read()
		if err != nil {
			return nil, Usagef("%s: no header line (payload_url,checksum,major_iov,minor_iov,…)", path)
		}
		for i, h := range header {
			header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
			if !bulkColumns[header[i]] {
				return nil, Usagef("%s: unknown column %q (known: payload_url, checksum, size, major_iov, minor_iov, major_iov_end, minor_iov_end, payload_list)", path, header[i])
			}
		}
		for line := 2; ; line++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, Usagef("%s: %v", path, err)
			}
			row := map[string]any{}
			for i, v := range rec {
				if v == "" {
					continue
				}
				if intColumns[header[i]] {
					n, err := parseInt(strings.TrimSpace(v))
					if err != nil {
						return nil, Usagef("%s line %d: %s %q is not an integer", path, line, header[i], v)
					}
					row[header[i]] = n
				} else {
					row[header[i]] = v
				}
			}
			rows = append(rows, row)
		}
	default:
		return nil, Usagef("%s: give a .csv or .json file", path)
	}
	for i, row := range rows {
		if _, ok := row["payload_list"]; !ok {
			if list == "" {
				return nil, Usagef("%s: row %d names no payload_list: give --list", path, i+1)
			}
			row["payload_list"] = list
		}
	}
	return rows, nil
}

// BulkReport is what `iov bulk` did.
type BulkReport struct {
	File        string  `json:"file"`
	Rows        int     `json:"rows"`
	Created     int64   `json:"created"`
	Requests    int     `json:"requests"`
	DryRun      bool    `json:"dry_run"`
	Interrupted bool    `json:"interrupted"`
	Seconds     float64 `json:"seconds"`
	RowsPerSec  float64 `json:"rows_per_second"`
}

// run sends the rows chunk by chunk. Each chunk is one transaction on the
// writer: committed whole or not at all. Ctrl-C stops after the chunk in
// flight, whose answer is awaited, so that the report is exact.
func (b *bulkSpec) run(ctx context.Context, c *Client, g *Group, s Streams, path string) error {
	rows, err := readBulk(path, b.list)
	if err != nil {
		return err
	}
	chunk := b.chunk
	if chunk <= 0 || chunk > len(rows) {
		chunk = max(len(rows), 1)
	}
	rep := BulkReport{File: path, Rows: len(rows), DryRun: b.dryRun}
	var bar *progressbar.ProgressBar
	if Terminal(s.Err) && g.Conn.Output != "json" {
		bar = progressbar.NewOptions(len(rows), progressbar.OptionSetWriter(s.Err), progressbar.OptionSetDescription("bulk "+path),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	start := time.Now()
	var failure error
	for i := 0; i < len(rows) || (i == 0 && len(rows) == 0); i += chunk {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		part := rows[i:min(i+chunk, len(rows))]
		var out struct {
			Created int64 `json:"created"`
		}
		if _, err := c.Write(ctxNoCancel(ctx), http.MethodPost, Compat+"bulk_piov", part, b.dryRun, false, &out); err != nil {
			failure = err
			break
		}
		rep.Requests++
		rep.Created += out.Created
		if bar != nil {
			_ = bar.Add(len(part))
		}
		if len(rows) == 0 {
			break
		}
	}
	if bar != nil {
		_ = bar.Exit()
		fmt.Fprint(s.Err, "\r\033[K")
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.RowsPerSec = float64(rep.Created) / max(rep.Seconds, 1e-9)
	if ctx.Err() != nil && int(rep.Created) < len(rows) {
		rep.Interrupted = true
	}
	if g.Conn.Output == "json" {
		if err := printJSON(s.Out, rep); err != nil {
			return err
		}
	} else {
		verb := "created"
		if b.dryRun {
			verb = "would be created (dry run: nothing written)"
		}
		fmt.Fprintf(s.Out, "%s: %d of %d IOVs %s in %s, %.2f s (%.0f rows/s).\n", path, rep.Created, rep.Rows, verb, plural(int64(rep.Requests), "request"), rep.Seconds, rep.RowsPerSec)
	}
	switch {
	case failure != nil:
		if rep.Created > 0 {
			fmt.Fprintf(s.Err, "the first %d rows are committed (%s); the rest are not\n", rep.Created, plural(int64(rep.Requests), "request"))
		}
		return failure
	case rep.Interrupted:
		return Exit(ExitUsage, fmt.Errorf("interrupted: %d of %d rows committed, in whole requests of %d; the rest were not sent", rep.Created, rep.Rows, chunk))
	}
	return nil
}
