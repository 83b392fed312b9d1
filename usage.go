package condcache

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Access accounting (docs/design.md "Access accounting"), after Alyx's
// Download: per GT and client identity, how many reads and when the first
// and last were.

// UsageCount is the reads of one GT by one client over some time.
type UsageCount struct {
	GlobalTag   string
	Client      string
	Reads       int64
	First, Last time.Time
}

// UsageQuery selects usage rows, most recently read first.
type UsageQuery struct {
	GlobalTag string    // "" = any
	Client    string    // "" = any
	Since     time.Time // read at or after (zero = any time)
	Page      int
	PageSize  int
}

// UnusedGT is a GT nobody read since some time: its last read, if any.
type UnusedGT struct {
	GlobalTag string
	Status    string
	Created   time.Time
	LastRead  *time.Time
	Reads     int64
}

// UsageRecorder adds counts to the accounting (implemented on the primary
// by sql.UsageStore).
type UsageRecorder interface {
	RecordUsage(ctx context.Context, counts []UsageCount) error
}

// UsageReader reads the accounting (implemented by sql.Reader).
type UsageReader interface {
	Usage(ctx context.Context, q UsageQuery) (Page[UsageCount], error)
	// UnusedSince lists the GTs with no read at or after since (never read
	// included), oldest last read first.
	UnusedSince(ctx context.Context, since time.Time) ([]UnusedGT, error)
}

// ParseAge reads an age: a number of days ("90d") or a non-negative Go
// duration ("36h", "90m").
func ParseAge(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errBadAge
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errBadAge
	}
	return d, nil
}

var errBadAge = errors.New(`an age is "90d", "12h" or "30m"`)
