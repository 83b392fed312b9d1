package condcache

import (
	"strings"
	"testing"
)

func TestCheckRelativePath(t *testing.T) {
	for _, ok := range []string{"a.root", "calib/run 1/a.root", "a..b/c", "...", "ü/ñ.root", "a/.hidden"} {
		if err := CheckRelativePath(ok); err != nil {
			t.Errorf("CheckRelativePath(%q) = %v, want accepted", ok, err)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "..", "../a", "a/../../b", "a/..", "./a", "a/./b", "a//b", "a/", `a\b`,
		"a\x00b", "a\nb", "https://evil.example/x", strings.Repeat("a", MaxRelativePathLen+1), "\xff"} {
		if err := CheckRelativePath(bad); err == nil {
			t.Errorf("CheckRelativePath(%q) accepted", bad)
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	for _, c := range []struct {
		in      string
		schemes []string
		want    string // "" = refused
	}{
		{"file:///cvmfs/sphenix", []string{"file"}, "file:///cvmfs/sphenix/"},
		{"file://localhost/data/", nil, "file://localhost/data/"},
		{"https://h.example", []string{"http", "https"}, "https://h.example/"},
		{"https://h.example:8443/a/b/", nil, "https://h.example:8443/a/b/"},
		{"root://eos.example//eos/sphenix", []string{"root"}, "root://eos.example//eos/sphenix/"},
		{"s3://bucket/prefix", []string{"s3"}, "s3://bucket/prefix/"},
		{"https://h.example/x", []string{"file"}, ""},
		{"h.example/x", nil, ""},
		{"/cvmfs/x", nil, ""},
		{"mailto:x@example", nil, ""},
		{"https://u:pw@h.example/", nil, ""},
		{"https://h.example/?a=1", nil, ""},
		{"https://h.example/?", nil, ""},
		{"https://h.example/#frag", nil, ""},
		{"https://h.example/#", nil, ""},
		{"https:///x", nil, ""},
		{"file://nfs/x", nil, ""},
		{"file:x", nil, ""},
		{"https://h.example/a b", nil, ""},
		{"https://h.example/\x01", nil, ""},
		{"", nil, ""},
		{"https://h.example/" + strings.Repeat("a", MaxBaseURLLen), nil, ""},
	} {
		got, err := ParseBaseURL(c.in, c.schemes)
		if (err == nil) != (c.want != "") || got != c.want {
			t.Errorf("ParseBaseURL(%q, %v) = %q, %v; want %q", c.in, c.schemes, got, err, c.want)
		}
	}
}

func TestFileURL(t *testing.T) {
	for _, c := range []struct{ base, path, want string }{
		{"file:///cvmfs/x/", "a/b.root", "file:///cvmfs/x/a/b.root"},
		{"https://h/x/", "run 1/a#b?.root", "https://h/x/run%201/a%23b%3F.root"},
		{"https://h/", "100%.root", "https://h/100%25.root"},
	} {
		if got := FileURL(c.base, c.path); got != c.want {
			t.Errorf("FileURL(%q, %q) = %q, want %q", c.base, c.path, got, c.want)
		}
	}
}

// TestChooseCopy: the site resolution rule. Only existing copies count;
// non-personal before personal whatever the preference; then higher
// preference; then name.
func TestChooseCopy(t *testing.T) {
	cp := func(repo string, pref int64, personal, exists bool) FileCopy {
		return FileCopy{Repository: repo, BaseURL: "file:///" + repo + "/", Path: "f", Preference: pref, Personal: personal, Exists: exists}
	}
	show := func(best *FileCopy, others []FileCopy) string {
		s := "none"
		if best != nil {
			s = best.Repository
		}
		for _, o := range others {
			s += " " + o.Repository
		}
		return s
	}
	for _, c := range []struct {
		copies []FileCopy
		want   string
	}{
		{nil, "none"},
		{[]FileCopy{cp("a", 0, false, false)}, "none"},
		{[]FileCopy{cp("laptop", 100, true, true), cp("a", 0, false, true), cp("b", 10, false, true)}, "b a laptop"},
		{[]FileCopy{cp("laptop", 100, true, true), cp("a", 0, false, false)}, "laptop"},
		{[]FileCopy{cp("z", 5, false, true), cp("m", 5, false, true), cp("gone", 50, false, false)}, "m z"},
		{[]FileCopy{cp("p2", 1, true, true), cp("p1", 2, true, true)}, "p1 p2"},
		{[]FileCopy{cp("neg", -5, false, true), cp("zero", 0, false, true)}, "zero neg"},
	} {
		if got := show(ChooseCopy(c.copies)); got != c.want {
			t.Errorf("ChooseCopy(%v) = %s, want %s", c.copies, got, c.want)
		}
	}
	if u := cp("a", 0, false, true).URL(); u != "file:///a/f" {
		t.Errorf("URL = %s", u)
	}
}
