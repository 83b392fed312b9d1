package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps h so that every log line passes through hide (Credentials,
// or a Values function that also knows the process's own secrets): the
// message and every attribute that is not a number, boolean, time or
// duration, errors and fmt.Stringers included. It is the last guard of a
// process's logs: code logs what it has, and no DSN, Redis URL, secret or
// token written to a log line survives it. hide nil is Credentials.
func Handler(h slog.Handler, hide func(string) string) slog.Handler {
	if hide == nil {
		hide = Credentials
	}
	return handler{next: h, hide: hide}
}

type handler struct {
	next slog.Handler
	hide func(string) string
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.hide(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return handler{next: h.next.WithAttrs(clean), hide: h.hide}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{next: h.next.WithGroup(name), hide: h.hide}
}

func (h handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.hide(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.hide(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.hide(x.String()))
		case []byte:
			return slog.String(a.Key, h.hide(string(x)))
		default:
			return slog.String(a.Key, h.hide(fmt.Sprintf("%+v", x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
