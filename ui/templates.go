package ui

import (
	"html/template"
	"io/fs"
	"net/url"
	"strconv"
	"strings"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/markdown"
)

// Templates: layout.html defines "layout", which every page fills with
// its "content"; partials.html defines what pages share. Every value is
// escaped by html/template for where it lands (text, attribute, URL); the
// one exception is a notice's description_html, which is sanitised again
// here before it is marked safe.

var funcs = template.FuncMap{
	"link":     link,
	"pt":       showPoint,
	"ptp":      showPointPtr,
	"ptq":      pointText,
	"ptpq":     pointPtrText,
	"size":     sizeText,
	"deref":    deref,
	"time":     timeText,
	"timep":    timePtrText,
	"itoa":     func(v int64) string { return strconv.FormatInt(v, 10) },
	"join":     strings.Join,
	"ids":      joinIDs,
	"imp":      func(i condcache.Importance) string { return i.String() },
	"impc":     importanceClass,
	"st":       statusClass,
	"notice":   noticeHTML,
	"col":      func(v browseView, key string) sortLink { return v.Columns[key] },
	"filter":   func(v browseView, key string) string { return v.Filters[key] },
	"selected": func(a, b string) bool { return a == b },
	"iovurl":   func(id int64) string { return link("iov", "id", strconv.FormatInt(id, 10)) },
	"info":     func(k condcache.FindingKind) bool { return k.Informational() },
	"runs":     runsText,
	"isMax":    func(p condcache.Point) bool { return p == condcache.OpenEnd },
	"ptfrom": func(p *condcache.Point) string {
		if p == nil {
			return "−∞"
		}
		return showPoint(*p)
	},
	"list":      func(v ...int) []int { return v },
	"nform":     func(gt, typ, list string, iov int64) noticeForm { return noticeForm{gt, typ, list, iov} },
	"exporturl": func(gt string) string { return "/api/v2/gt/" + url.PathEscape(gt) + "/export" },
	"apilookup": apiLookup,
}

// noticeForm says what a new notice is attached to.
type noticeForm struct {
	GT, Type, List string
	IOV            int64
}

// apiLookup is the v2 lookup URL of the answer a lookup page shows.
func apiLookup(d lookupData) string {
	v := url.Values{}
	v.Set("gt", d.GT)
	v.Set("major", strconv.FormatInt(d.At.Major, 10))
	v.Set("minor", strconv.FormatInt(d.At.Minor, 10))
	if d.Strict {
		v.Set("strict", "1")
	}
	if d.Types != "" {
		v.Set("types", d.Types)
	}
	if d.AsOfTime != "" {
		v.Set("asof", d.AsOfTime)
	}
	return "/api/v2/lookup?" + v.Encode()
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		short := strings.TrimPrefix(n, "templates/")
		if short == "layout.html" || short == "partials.html" {
			continue
		}
		pages[short] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// noticeHTML is a notice's rendered description, sanitised once more with
// the writer's policy: one stored by plain SQL shows no script either.
func noticeHTML(s string) template.HTML {
	return template.HTML(markdown.Sanitize(s)) // #nosec: sanitised just now
}

func importanceClass(i condcache.Importance) string {
	switch i {
	case condcache.Critical:
		return "imp-critical"
	case condcache.Major:
		return "imp-major"
	case condcache.Minor:
		return "imp-minor"
	}
	return "imp-insignificant"
}

// statusClass is a badge's class: the three statuses with a meaning, and
// any other name (which behaves like unlocked).
func statusClass(name string) string {
	switch name {
	case condcache.StatusLocked, condcache.StatusFrozen, condcache.StatusUnlocked:
		return "st-" + name
	}
	return "st-other"
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

func runsText(r *condcache.PointRange) string {
	if r == nil {
		return "all runs"
	}
	return showPoint(r.From) + " – " + showPoint(r.To)
}
