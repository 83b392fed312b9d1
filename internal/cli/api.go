package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The shapes of the answers the commands read (docs/compatibility.md
// "JSON shapes", docs/design.md "The v2 read API"). Fields the commands
// do not show are left out; JSON output prints these, so it is stable.

// Status is a GT status.
type Status struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// GTSummary is a GT of the globalTags listing.
type GTSummary struct {
	ID      int64   `json:"id"`
	Name    string  `json:"name"`
	Author  *string `json:"author"`
	Status  string  `json:"status"`
	Lists   int64   `json:"payload_lists_count"`
	IOVs    int64   `json:"payload_iov_count"`
	Created string  `json:"created"`
	Updated string  `json:"updated"`
}

// PIOV is a payload IOV (POST piov, piov_attach, a GT's nested IOVs).
type PIOV struct {
	ID          int64   `json:"id"`
	URL         string  `json:"payload_url"`
	Checksum    string  `json:"checksum"`
	Major       int64   `json:"major_iov"`
	Minor       int64   `json:"minor_iov"`
	MajorEnd    int64   `json:"major_iov_end"`
	MinorEnd    int64   `json:"minor_iov_end"`
	PayloadList *string `json:"payload_list"`
}

// PLFull is a list of a GT, with its IOVs.
type PLFull struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	PayloadType string `json:"payload_type"`
	IOVs        []PIOV `json:"payload_iov"`
}

// GTFull is one GT with its lists and their IOVs.
type GTFull struct {
	ID     int64   `json:"id"`
	Name   string  `json:"name"`
	Author *string `json:"author"`
	Status struct {
		Name string `json:"name"`
	} `json:"status"`
	Lists   []PLFull `json:"payload_lists"`
	Created string   `json:"created"`
	Updated string   `json:"updated"`
}

// PT is a payload type.
type PT struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

// PLBrowse is a payload list of the browse listing.
type PLBrowse struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	GlobalTag   *string `json:"global_tag"`
	PayloadType string  `json:"payload_type"`
	IOVs        int64   `json:"iov_count"`
	Created     string  `json:"created"`
}

// PLWrite is the answer of POST pl and pl_attach.
type PLWrite struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	GlobalTag   *string `json:"global_tag"`
	PayloadType string  `json:"payload_type"`
}

// PIOVBrowse is an IOV of the browse listing.
type PIOVBrowse struct {
	ID          int64   `json:"id"`
	URL         string  `json:"payload_url"`
	Checksum    string  `json:"checksum"`
	Major       int64   `json:"major_iov"`
	Minor       int64   `json:"minor_iov"`
	MajorEnd    int64   `json:"major_iov_end"`
	MinorEnd    int64   `json:"minor_iov_end"`
	PayloadList *string `json:"payload_list"`
	GlobalTag   *string `json:"global_tag"`
	PayloadType *string `json:"payload_type"`
	Inserted    string  `json:"inserted"`
}

// Point is a (run, subrun) point of the v2 API.
type Point struct {
	Major int64 `json:"major"`
	Minor int64 `json:"minor"`
}

// Max is the largest major or minor: an open end.
const Max = math.MaxInt64

func (p Point) String() string { return FormatPoint(p.Major, p.Minor) }

// FormatPoint shows a point as R.S, "max" for MAX.
func FormatPoint(major, minor int64) string {
	m := func(n int64) string {
		switch n {
		case Max:
			return "max"
		case math.MinInt64:
			return "min"
		}
		return strconv.FormatInt(n, 10)
	}
	if major == Max && minor == Max {
		return "max"
	}
	if major == math.MinInt64 && minor == math.MinInt64 {
		return "min"
	}
	return m(major) + "." + m(minor)
}

// ParsePoint reads R or R.S ("max" for MAX); a missing subrun is
// defaultMinor.
func ParsePoint(s string, defaultMinor int64) (Point, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return Point{Max, Max}, nil
	}
	a, b, hasMinor := strings.Cut(s, ".")
	major, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return Point{}, fmt.Errorf("%q is not a run (R, or R.S with a subrun)", s)
	}
	minor := defaultMinor
	if hasMinor {
		if b == "max" {
			minor = Max
		} else if minor, err = strconv.ParseInt(b, 10, 64); err != nil {
			return Point{}, fmt.Errorf("%q is not a run (R, or R.S with a subrun)", s)
		}
	}
	return Point{major, minor}, nil
}

// V2Payload is an IOV as the v2 reads answer it.
type V2Payload struct {
	ID       int64   `json:"id"`
	Type     string  `json:"type,omitempty"`
	URL      string  `json:"url"`
	Checksum string  `json:"checksum"`
	Size     *int64  `json:"size"`
	Start    Point   `json:"start"`
	End      Point   `json:"end"`
	Revision *string `json:"revision"`
	Site     *Site   `json:"site,omitempty"`
}

// Site is where a payload is at a site (lookup with site=).
type Site struct {
	Available    bool    `json:"available"`
	URL          *string `json:"url"`
	Repository   *string `json:"repository"`
	Personal     *bool   `json:"personal"`
	Alternatives []struct {
		URL        string `json:"url"`
		Repository string `json:"repository"`
	} `json:"alternatives"`
}

// NoticeBrief is a notice as answers carry it.
type NoticeBrief struct {
	ID          int64  `json:"id"`
	Importance  string `json:"importance"`
	Description string `json:"description"`
}

// V2Lookup is the answer of GET /api/v2/lookup.
type V2Lookup struct {
	GlobalTag  string  `json:"global_tag"`
	Status     string  `json:"status"`
	Generation int64   `json:"generation"`
	Point      Point   `json:"point"`
	AsOf       *string `json:"asof,omitempty"`
	Valid      struct {
		From  *Point `json:"from"`
		Until *Point `json:"until"`
	} `json:"valid"`
	Digest   string        `json:"digest"`
	Payloads []V2Payload   `json:"payloads"`
	Missing  []string      `json:"missing"`
	Notices  []NoticeBrief `json:"notices"`
}

// V2Diff is the answer of GET /api/v2/diff over a range.
type V2Diff struct {
	A       string   `json:"a"`
	B       string   `json:"b"`
	From    Point    `json:"from"`
	To      Point    `json:"to"`
	OnlyInA []string `json:"only_in_a"`
	OnlyInB []string `json:"only_in_b"`
	Types   []struct {
		Type      string `json:"type"`
		Intervals []struct {
			From  Point      `json:"from"`
			Until *Point     `json:"until"`
			A     *V2Payload `json:"a"`
			B     *V2Payload `json:"b"`
		} `json:"intervals"`
	} `json:"types"`
}

// CheckReport is the answer of GET /api/v2/check.
type CheckReport struct {
	GlobalTag *string `json:"global_tag"`
	Count     int     `json:"count"`
	Findings  []struct {
		Kind        string  `json:"kind"`
		Severity    string  `json:"severity"`
		GlobalTag   string  `json:"global_tag"`
		PayloadType string  `json:"payload_type"`
		PayloadList *string `json:"payload_list"`
		IDs         []int64 `json:"ids"`
		Detail      string  `json:"detail"`
	} `json:"findings"`
}

// AuditEntry is an entry of the audit trail.
type AuditEntry struct {
	ID          int64  `json:"id"`
	Time        string `json:"time"`
	Actor       string `json:"actor"`
	Endpoint    string `json:"endpoint"`
	Generations []struct {
		GlobalTag  string `json:"global_tag"`
		Generation int64  `json:"generation"`
	} `json:"generations"`
	Changes []struct {
		Table string `json:"table"`
		Op    string `json:"op"`
		Rows  int64  `json:"rows"`
	} `json:"changes"`
}

// Notice is a notice (docs/design.md "Notices").
type Notice struct {
	ID              int64   `json:"id"`
	Importance      string  `json:"importance"`
	Description     string  `json:"description"`
	Author          string  `json:"author"`
	Created         string  `json:"created"`
	VersionAffected *string `json:"version_affected"`
	Runs            *struct {
		From Point `json:"from"`
		To   Point `json:"to"`
	} `json:"runs"`
	GlobalTags   []string `json:"global_tags"`
	PayloadTypes []string `json:"payload_types"`
	PayloadLists []string `json:"payload_lists"`
	IOVs         []int64  `json:"iovs"`
}

// Repository is a payload repository.
type Repository struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	BaseURL string `json:"base_url"`
	Site    string `json:"site"`
}

// FileRecord is a file record as POST /api/v2/files answers it.
type FileRecord struct {
	ID         int64  `json:"id"`
	IOV        int64  `json:"iov"`
	Repository string `json:"repository"`
	Path       string `json:"path"`
	URL        string `json:"url"`
	Exists     bool   `json:"exists"`
}

// DryRun is the answer of a write made with ?dry_run=1 (docs/design.md
// "Dry runs").
type DryRun struct {
	DryRun             bool            `json:"dry_run"`
	Response           json.RawMessage `json:"response"`
	ChangesTotal       int64           `json:"changes_total"`
	Changes            []RowChange     `json:"changes"`
	AnswerChangesTotal int64           `json:"answer_changes_total"`
	AnswerChanges      []AnswerChange  `json:"answer_changes"`
	Forced             json.RawMessage `json:"forced,omitempty"`
}

// RowChange is a row a write would touch.
type RowChange struct {
	Table  string         `json:"table"`
	Action string         `json:"action"`
	ID     int64          `json:"id"`
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
}

// AnswerChange is a run range whose answer a write would change.
type AnswerChange struct {
	GlobalTag   string     `json:"global_tag"`
	PayloadType string     `json:"payload_type"`
	From        Point      `json:"from"`
	Until       *Point     `json:"until"`
	Before      *V2Payload `json:"before"`
	After       *V2Payload `json:"after"`
}

// Write makes a write. With dryRun it returns the dry-run answer (out is
// then filled from its response); else out gets the answer.
func (c *Client) Write(ctx context.Context, method, path string, body any, dryRun, force bool, out any) (*DryRun, error) {
	r := Request{Method: method, Path: path, Body: body, DryRun: dryRun, Force: force}
	if !dryRun {
		return nil, c.Do(ctx, r, out)
	}
	var d DryRun
	if err := c.Do(ctx, r, &d); err != nil {
		return nil, err
	}
	if out != nil && len(d.Response) > 0 {
		if err := json.Unmarshal(d.Response, out); err != nil {
			return nil, fmt.Errorf("%s %s: the dry run's response is not the expected JSON: %w", method, path, err)
		}
	}
	return &d, nil
}

// Statuses lists the GT statuses.
func (c *Client) Statuses(ctx context.Context) ([]Status, error) {
	var out []Status
	return out, c.Get(ctx, Compat+"gtstatus", nil, &out)
}

// EnsureStatus creates the status name when the server has none of that
// name (a new database has none: the README's first write). created
// reports whether it did.
func (c *Client) EnsureStatus(ctx context.Context, name string) (created bool, err error) {
	sts, err := c.Statuses(ctx)
	if err != nil {
		return false, err
	}
	for _, s := range sts {
		if s.Name == name {
			return false, nil
		}
	}
	err = c.Do(ctx, Request{Method: http.MethodPost, Path: Compat + "gtstatus", Body: map[string]string{"name": name}}, nil)
	var ae *APIError
	if asAPI(err, &ae) {
		// Made meanwhile? condcache answers 409, Nopayloaddb 400 or 500:
		// ask again rather than trust the code.
		if again, lerr := c.Statuses(ctx); lerr == nil {
			for _, s := range again {
				if s.Name == name {
					return false, nil
				}
			}
		}
	}
	return err == nil, err
}

// GlobalTag reads one GT with its lists and IOVs.
func (c *Client) GlobalTag(ctx context.Context, name string) (*GTFull, error) {
	var g GTFull
	return &g, c.Get(ctx, Compat+"globalTag/"+esc(name), nil, &g)
}

// Repository reads a payload repository.
func (c *Client) Repository(ctx context.Context, name string) (*Repository, error) {
	var r Repository
	return &r, c.Get(ctx, V2+"repositories/"+esc(name), nil, &r)
}

func values(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}
