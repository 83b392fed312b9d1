package ui

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/condcache/condcache"
)

// pointText writes p as the pages' parameters take it: "R.m", exact.
func pointText(p condcache.Point) string {
	return strconv.FormatInt(p.Major, 10) + "." + strconv.FormatInt(p.Minor, 10)
}

// toText is pointText for the "to" field of a form, where "R" means the
// whole run: R for (R, MAX), so the field shows what a user types.
func toText(p condcache.Point) string {
	if p.Minor == condcache.MaxIOV {
		return strconv.FormatInt(p.Major, 10)
	}
	return pointText(p)
}

// pointPtrText is pointText, "" for nil (no bound).
func pointPtrText(p *condcache.Point) string {
	if p == nil {
		return ""
	}
	return pointText(*p)
}

// showPoint writes p for people: "R.m", MAX for the largest component
// (Python's sys.maxsize in the reference).
func showPoint(p condcache.Point) string {
	c := func(v int64) string {
		if v == condcache.MaxIOV {
			return "MAX"
		}
		return strconv.FormatInt(v, 10)
	}
	return c(p.Major) + "." + c(p.Minor)
}

// showPointPtr is showPoint, ∞ for nil (no upper bound).
func showPointPtr(p *condcache.Point) string {
	if p == nil {
		return "∞"
	}
	return showPoint(*p)
}

func sizeText(s *int64) string {
	if s == nil {
		return "—"
	}
	return strconv.FormatInt(*s, 10)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func timePtrText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return timeText(*t)
}

// prettyJSON indents raw JSON for a <pre>; text that is not JSON is shown
// as it is.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}
