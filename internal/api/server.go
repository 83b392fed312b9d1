package api

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/redact"
)

// Defaults of the slow-client limits both servers share (docs/operations.md
// "Serving").
const (
	// DefaultHeaderTimeout is the time a client has to send a request's
	// line and headers: a slowloris client holds its connection no longer.
	DefaultHeaderTimeout = 5 * time.Second
	// DefaultBodyTimeout is the time a client has to send a request's body
	// once its headers are in, sized for bulk bodies of up to 64 MiB.
	DefaultBodyTimeout = 60 * time.Second
)

// ServerLimits are the connection limits both servers take from their
// configuration.
type ServerLimits struct {
	// HeaderTimeout bounds reading a request's line and headers: from the
	// connection's opening for its first request, from the first byte of
	// each later one (a kept-alive connection waits IdleTimeout for it).
	// Zero or more than ReadTimeout: ReadTimeout.
	HeaderTimeout time.Duration
	// ReadTimeout bounds reading the body, from the end of the headers.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxRequestBodySize: a larger Content-Length is refused with 413 as
	// soon as the headers are in, before any of the body is read; a
	// chunked body is cut off once it grows past it.
	MaxRequestBodySize, ReadBufferSize int
}

// NewServer returns the fasthttp server both processes run: JSON errors
// for malformed requests, keep-alive, no multipart parsing (bodies are JSON,
// or proxied verbatim), and fasthttp's own messages sent to log without
// quoting requests (they may carry tokens).
//
// Reading a request has two deadlines: fasthttp's ReadTimeout is the
// header timeout (it runs from the connection's opening, or from a kept-alive
// request's first byte), and once the headers are in, HeaderReceived moves
// the deadline to the body timeout. fasthttp checks Content-Length against
// MaxRequestBodySize before reading the body, and RequestErrorHandler answers
// 413.
func NewServer(h fasthttp.RequestHandler, log *slog.Logger, l ServerLimits) *fasthttp.Server {
	header := l.HeaderTimeout
	if header <= 0 || (l.ReadTimeout > 0 && header > l.ReadTimeout) {
		header = l.ReadTimeout
	}
	var headerReceived func(*fasthttp.RequestHeader) fasthttp.RequestConfig
	if l.ReadTimeout > 0 {
		body := fasthttp.RequestConfig{ReadTimeout: l.ReadTimeout}
		headerReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig { return body }
	}
	return &fasthttp.Server{
		Handler:                      h,
		ErrorHandler:                 RequestErrorHandler,
		HeaderReceived:               headerReceived,
		Name:                         "condcache",
		ReadTimeout:                  header,
		WriteTimeout:                 l.WriteTimeout,
		IdleTimeout:                  l.IdleTimeout,
		MaxRequestBodySize:           l.MaxRequestBodySize,
		ReadBufferSize:               l.ReadBufferSize,
		CloseOnShutdown:              true,
		TCPKeepalive:                 true,
		DisablePreParseMultipartForm: true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{log},
	}
}

// fasthttpLogger routes fasthttp's own messages (accept errors, failures to
// write responses) to slog.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn(redact.Credentials(fmt.Sprintf(format, args...)), "source", "fasthttp")
}

// SetDefault sets *v to def when it is not positive (a zero configuration
// field takes the default).
func SetDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
