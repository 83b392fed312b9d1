package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// printJSON writes v as indented JSON, HTML characters unescaped: the
// output of -o json, stable for scripts.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, columns aligned.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			r[i] = cell(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// cell shows a stored text as it is, quoted when it is empty or holds
// characters a terminal would not show as themselves (tabs, escapes).
func cell(s string) string {
	if s == "" {
		return `""`
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\t' || r == '"' || !unicode.IsPrint(r) && r != ' ' }) {
		return strconv.Quote(s)
	}
	return s
}

func orDash(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}

// shortTime shows a timestamp of the API without its fraction.
func shortTime(s string) string {
	if i := strings.IndexByte(s, '.'); i > 0 {
		rest := s[i:]
		if j := strings.IndexAny(rest, "Z+-"); j >= 0 {
			return s[:i] + rest[j:]
		}
		return s[:i]
	}
	return s
}

// payloadText shows an answer's payload: url and checksum, "-" for none.
func payloadText(p *V2Payload) string {
	if p == nil {
		return "-"
	}
	return p.URL + " (" + p.Checksum + ")"
}

// untilText shows an interval's end, "max" for none.
func untilText(p *Point) string {
	if p == nil {
		return "max"
	}
	return p.String()
}

// printDryRun shows what a write would do: the rows it would touch and
// the answers it would change.
func printDryRun(w io.Writer, d *DryRun) {
	fmt.Fprintf(w, "Dry run: nothing was written. The write would change %s", plural(d.ChangesTotal, "row"))
	fmt.Fprintf(w, " and the answers of %s.\n", plural(d.AnswerChangesTotal, "run range"))
	if len(d.Changes) > 0 {
		fmt.Fprintln(w)
		var rows [][]string
		for _, c := range d.Changes {
			rows = append(rows, []string{c.Table, itoa(c.ID), c.Action, rowText(c.Before), rowText(c.After)})
		}
		table(w, []string{"TABLE", "ID", "ACTION", "BEFORE", "AFTER"}, rows)
		if int64(len(d.Changes)) < d.ChangesTotal {
			fmt.Fprintf(w, "… and %d more rows\n", d.ChangesTotal-int64(len(d.Changes)))
		}
	}
	if len(d.AnswerChanges) > 0 {
		fmt.Fprintln(w)
		printAnswerChanges(w, d.AnswerChanges)
		if int64(len(d.AnswerChanges)) < d.AnswerChangesTotal {
			fmt.Fprintf(w, "… and %d more run ranges\n", d.AnswerChangesTotal-int64(len(d.AnswerChanges)))
		}
	}
}

// printAnswerChanges is the table of answer changes: where lookups would
// answer another payload.
func printAnswerChanges(w io.Writer, changes []AnswerChange) {
	var rows [][]string
	for _, a := range changes {
		rows = append(rows, []string{a.GlobalTag, a.PayloadType, a.From.String(), untilText(a.Until), payloadText(a.Before), payloadText(a.After)})
	}
	table(w, []string{"GLOBAL TAG", "TYPE", "FROM", "UNTIL", "NOW ANSWERS", "WOULD ANSWER"}, rows)
}

// rowText summarises a row of a dry run: its name, or its payload and
// range, "-" for none.
func rowText(r map[string]any) string {
	if r == nil {
		return "-"
	}
	if u, ok := r["payload_url"]; ok {
		return fmt.Sprintf("%v [%s, %s)", u, FormatPoint(num(r["major_iov"]), num(r["minor_iov"])), FormatPoint(num(r["major_iov_end"]), num(r["minor_iov_end"])))
	}
	if n, ok := r["name"]; ok {
		return fmt.Sprint(n)
	}
	return "…"
}

// num is a row's integer column (0 when it is not one).
func num(v any) int64 {
	if n, ok := v.(json.Number); ok {
		i, _ := n.Int64()
		return i
	}
	return 0
}

// confirm asks question on the terminal and reports whether the answer
// was yes; yes answers it beforehand. Without a terminal to ask on it
// refuses (exit 2), saying to give --yes.
func confirm(s Streams, question string, yes bool) (bool, error) {
	if yes {
		return true, nil
	}
	if !s.Interactive() {
		return false, Usagef("%s: standard input is not a terminal, so nobody can be asked: give --yes to apply without asking", question)
	}
	fmt.Fprintf(s.Err, "%s [y/N] ", question)
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(s.Err)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
