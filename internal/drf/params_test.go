package drf

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseInt(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  error
	}{
		{"0", 0, nil}, {"-0", 0, nil}, {"+0", 0, nil}, {"42", 42, nil}, {"-42", -42, nil}, {"+42", 42, nil},
		{" 7 ", 7, nil}, {"\t\n\v\f\r-7\r\n", -7, nil}, {"007", 7, nil},
		{"9223372036854775807", math.MaxInt64, nil},
		{"-9223372036854775808", math.MinInt64, nil},
		{"9223372036854775808", math.MaxInt64, strconv.ErrRange},
		{"-9223372036854775809", math.MinInt64, strconv.ErrRange},
		{"18446744073709551616", math.MaxInt64, strconv.ErrRange},
		{"-184467440737095516160000", math.MinInt64, strconv.ErrRange},
		{"", 0, strconv.ErrSyntax}, {"   ", 0, strconv.ErrSyntax}, {"-", 0, strconv.ErrSyntax}, {"+", 0, strconv.ErrSyntax},
		{"1.5", 0, strconv.ErrSyntax}, {"1.0", 0, strconv.ErrSyntax}, {"1e3", 0, strconv.ErrSyntax},
		{"0x1F", 0, strconv.ErrSyntax}, {"1_000", 0, strconv.ErrSyntax}, {"1 2", 0, strconv.ErrSyntax},
		{"--1", 0, strconv.ErrSyntax}, {"+-1", 0, strconv.ErrSyntax}, {"- 1", 0, strconv.ErrSyntax},
		{"abc", 0, strconv.ErrSyntax}, {"١٢", 0, strconv.ErrSyntax}, {"\u00a01", 0, strconv.ErrSyntax},
		{"99999999999999999999x", 0, strconv.ErrSyntax},
	}
	for _, c := range cases {
		got, err := ParseInt([]byte(c.in))
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestLastQueryArg(t *testing.T) {
	var a fasthttp.Args
	a.Parse("a=1&b&a=2&c=&a=3")
	if v, ok := LastQueryArg(&a, "a"); !ok || string(v) != "3" {
		t.Errorf("a = %q, %v; want 3", v, ok)
	}
	if v, ok := LastQueryArg(&a, "b"); !ok || len(v) != 0 {
		t.Errorf("b = %q, %v; want present and empty", v, ok)
	}
	if v, ok := LastQueryArg(&a, "c"); !ok || len(v) != 0 {
		t.Errorf("c = %q, %v; want present and empty", v, ok)
	}
	if _, ok := LastQueryArg(&a, "d"); ok {
		t.Error("d is absent")
	}
}

func TestPathParam(t *testing.T) {
	var ctx fasthttp.RequestCtx
	for raw, want := range map[string]string{
		"GT_1": "GT_1", "My%20GT": "My GT", "a+b": "a+b", "%C3%A9t%C3%A9": "été", "bad%zz": "bad%zz", "": "",
	} {
		ctx.SetUserValue("name", raw)
		if got := PathParam(&ctx, "name"); got != want {
			t.Errorf("PathParam(%q) = %q, want %q", raw, got, want)
		}
	}
}
