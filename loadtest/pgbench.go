package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ReferenceLookupSQL is the reference's own lookup statement, written out
// here for pgbench: Nopayloaddb's cdb_rest/queries.py get_payload_iovs,
// with its %(my_gt)s, %(my_major_iov)s and %(my_minor_iov)s as $1, $2 and
// $3. For each list of the GT, one descent of an index on (list,
// comb_iov) for the IOV at or before the point; seven columns, no order,
// no window, no generation. `condcache loadtest bench` runs it side by side
// with condcache's lookup statement on the same replica and data.
const ReferenceLookupSQL = `SELECT pt.name AS payload_type_name, pi.payload_url, pi.checksum, pi.major_iov, pi.minor_iov, pi.major_iov_end, pi.minor_iov_end
FROM "PayloadList" pl
JOIN "GlobalTag" gt ON pl.global_tag_id = gt.id AND gt.name = $1
JOIN LATERAL (
   SELECT payload_url, checksum, major_iov, minor_iov, major_iov_end, minor_iov_end
   FROM   "PayloadIOV" pi
   WHERE  pi.payload_list_id = pl.id
     AND pi.comb_iov <= CAST($2 + CAST($3 AS DECIMAL(19,0)) / 1E19 AS DECIMAL(38,19))
   ORDER BY pi.comb_iov DESC NULLS LAST
   LIMIT 1
) pi ON true
JOIN "PayloadType" pt ON pl.payload_type_id = pt.id`

// Pgbench describes a pgbench run of a lookup statement by itself: the
// ceiling an uncached reader is measured against (issue 4: at least 90% of
// the raw SQL's throughput on the same data), or the reference's statement
// (ReferenceLookupSQL).
type Pgbench struct {
	Name        string // the statement, for the report; "" = "lookup SQL"
	Binary      string // pgbench
	DSN         string // the database (a replica, like an uncached reader's)
	Statement   string // the lookup: $1 the GT name, $2 the point's comb_iov text (= the run), $3 the minor (0)
	GlobalTag   string
	Runs        RunRange // points looked up: uniform runs, subrun 0
	Connections int
	Threads     int // pgbench -j; 0 = 2
	Duration    time.Duration
}

// Run runs pgbench in prepared mode, one lookup per transaction, logging
// every transaction, and returns its measurements in the same form as an
// HTTP target's (latency percentiles from the per-transaction log).
func (p Pgbench) Run(ctx context.Context) (*Result, error) {
	dir, err := os.MkdirTemp("", "condcache-pgbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// pgbench replaces :name with a bound parameter in prepared mode; the
	// run is an integer, which is its own comb_iov text at subrun 0.
	stmt := strings.NewReplacer("$1", ":gt", "$2", ":run", "$3", ":minor").Replace(p.Statement)
	script := fmt.Sprintf("\\set run random(%d, %d)\n\\set minor 0\n%s;\n", p.Runs.First, p.Runs.Last, strings.Join(strings.Fields(stmt), " "))
	if err := os.WriteFile(filepath.Join(dir, "lookup.sql"), []byte(script), 0o644); err != nil {
		return nil, err
	}
	threads := p.Threads
	if threads == 0 {
		threads = 2
	}
	secs := max(1, int(p.Duration/time.Second))
	cmd := exec.CommandContext(ctx, p.Binary, "-n", "-M", "prepared", "-f", "lookup.sql",
		"-c", strconv.Itoa(p.Connections), "-j", strconv.Itoa(threads), "-T", strconv.Itoa(secs),
		"-D", "gt="+p.GlobalTag, "--log", "--log-prefix=tx", p.DSN)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pgbench: %w\n%s", err, out.String())
	}
	name := p.Name
	if name == "" {
		name = "lookup SQL"
	}
	res := &Result{Target: fmt.Sprintf("pgbench (%s, %d clients)", name, p.Connections), Workload: "reco", Mode: "closed",
		Connections: p.Connections, Seconds: float64(secs), Errors: map[string]int64{}, hist: newHist()}
	logs, err := filepath.Glob(filepath.Join(dir, "tx.*"))
	if err != nil {
		return nil, err
	}
	for _, name := range logs {
		if err := res.addPgbenchLog(name); err != nil {
			return nil, err
		}
	}
	if res.Requests == 0 {
		return nil, fmt.Errorf("pgbench logged no transaction:\n%s", out.String())
	}
	res.finish()
	return res, nil
}

// addPgbenchLog reads a per-transaction log: "client tx latency_us
// script epoch epoch_us" per line, "failed" in place of the latency of a
// transaction that failed.
func (r *Result) addPgbenchLog(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		r.Requests++
		us, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			r.Errors["sql_"+fields[2]]++
			continue
		}
		_ = r.hist.RecordValue(min(max(us, 1), histMax))
	}
	return sc.Err()
}
