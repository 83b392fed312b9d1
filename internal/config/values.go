package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// String stores the text as it is.
func String(p *string) Value { return &stringValue{p} }

type stringValue struct{ p *string }

func (v *stringValue) Set(s string) error { *v.p = s; return nil }
func (v *stringValue) String() string     { return *v.p }
func (v *stringValue) Type() string       { return "string" }

// Duration parses a Go duration (250ms, 10s, 1m30s).
func Duration(p *time.Duration) Value { return &durationValue{p} }

type durationValue struct{ p *time.Duration }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a duration (e.g. 250ms, 10s, 1m30s)")
	}
	*v.p = d
	return nil
}
func (v *durationValue) String() string { return v.p.String() }
func (v *durationValue) Type() string   { return "duration" }

// Int parses a decimal integer.
func Int(p *int) Value { return &intValue{p} }

type intValue struct{ p *int }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not an integer")
	}
	*v.p = n
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(*v.p) }
func (v *intValue) Type() string   { return "int" }

// Int64 parses a decimal 64-bit integer.
func Int64(p *int64) Value { return &int64Value{p} }

type int64Value struct{ p *int64 }

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*v.p = n
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(*v.p, 10) }
func (v *int64Value) Type() string   { return "int" }

// Float parses a decimal number.
func Float(p *float64) Value { return &floatValue{p} }

type floatValue struct{ p *float64 }

func (v *floatValue) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return errors.New("not a number")
	}
	*v.p = x
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v *floatValue) Type() string   { return "number" }

// Bool parses true or false (also 1, 0, t, f, TRUE, False, … as
// strconv.ParseBool); a flag may be given without a value.
func Bool(p *bool) Value { return &boolVal{p} }

type boolVal struct{ p *bool }

func (v *boolVal) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a boolean (true or false)")
	}
	*v.p = b
	return nil
}
func (v *boolVal) String() string   { return strconv.FormatBool(*v.p) }
func (v *boolVal) Type() string     { return "bool" }
func (v *boolVal) IsBoolFlag() bool { return true }

// OneOf stores the text, which must be one of choices.
func OneOf(p *string, choices ...string) Value { return &oneOfValue{p, choices} }

type oneOfValue struct {
	p       *string
	choices []string
}

func (v *oneOfValue) Set(s string) error {
	for _, c := range v.choices {
		if s == c {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(v.choices, ", "))
}
func (v *oneOfValue) String() string { return *v.p }
func (v *oneOfValue) Type() string   { return strings.Join(v.choices, "|") }

// Func parses the text with set; kind names it in the help.
func Func(kind string, set func(string) error) Value { return &funcValue{kind: kind, set: set} }

type funcValue struct {
	kind string
	set  func(string) error
	text string
}

func (v *funcValue) Set(s string) error {
	if err := v.set(s); err != nil {
		return err
	}
	v.text = s
	return nil
}
func (v *funcValue) String() string { return v.text }
func (v *funcValue) Type() string   { return v.kind }
