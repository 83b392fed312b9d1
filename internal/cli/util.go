package cli

import (
	"bytes"
	"errors"
	"io"
)

var errEOF = io.EOF

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func asAPI(err error, target **APIError) bool { return errorsAs(err, target) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
