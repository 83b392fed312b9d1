package api

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/redact"
)

// ServerLimits are the connection limits both servers take from their
// configuration.
type ServerLimits struct {
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxRequestBodySize, ReadBufferSize     int
}

// NewServer returns the fasthttp server both processes run: JSON errors
// for malformed requests, keep-alive, no multipart parsing (bodies are JSON,
// or proxied verbatim), and fasthttp's own messages sent to log without
// quoting requests (they may carry tokens).
func NewServer(h fasthttp.RequestHandler, log *slog.Logger, l ServerLimits) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      h,
		ErrorHandler:                 RequestErrorHandler,
		Name:                         "condcache",
		ReadTimeout:                  l.ReadTimeout,
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
