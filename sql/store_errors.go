package sql

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/sql/replica"
)

// SQLSTATE codes the store reacts to.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgSerializationFail   = "40001"
	pgDeadlockDetected    = "40P01"
	pgDataExceptionClass  = "22" // value too long (22001), out of range (22003), bad encoding (22021), …
)

// pgCode returns the SQLSTATE of err, or "" when err is not a PostgreSQL error.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// isUniqueViolation reports whether err is a unique-constraint violation. The
// store detects duplicates this way instead of checking first, which would
// race with a concurrent insert of the same name.
func isUniqueViolation(err error) bool { return pgCode(err) == pgUniqueViolation }

// retryable reports whether a transaction that failed with err may succeed
// when run again from the start.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	switch pgCode(err) {
	case pgSerializationFail, pgDeadlockDetected:
		return true
	}
	return false
}

// errPrimaryUnavailable answers a write that lost or could not reach the
// primary. Whether a commit under way when the connection broke took
// effect is unknown, so the detail does not claim either.
var errPrimaryUnavailable = condcache.Errorf(condcache.EUnavailable,
	"The primary database cannot be reached (down or restarting); try again later.")

// storeError maps what escapes a transaction: application errors pass
// through; PostgreSQL errors caused by the input become EInvalid or EConflict
// (a backstop: the store checks what it can before writing); anything else
// is returned wrapped, for the HTTP layer to log and answer 500.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *condcache.Error
	if errors.As(err, &appErr) {
		return appErr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, pgDataExceptionClass):
			return condcache.Errorf(condcache.EInvalid, "Invalid value: %s.", pgErr.Message)
		case pgErr.Code == pgUniqueViolation:
			return condcache.Errorf(condcache.EConflict, "A %s with this name already exists.", pgErr.TableName)
		case pgErr.Code == pgForeignKeyViolation:
			// Deferred FK checks run at commit: a row this write refers to
			// was deleted concurrently.
			return condcache.Errorf(condcache.EConflict, "A referenced row was changed concurrently (%s); try again.", pgErr.ConstraintName)
		}
	}
	if errors.Is(err, errRetry) {
		return condcache.Errorf(condcache.EConflict, "Too many concurrent changes to the same rows; try again.")
	}
	// The primary is down, restarting or unreachable: a 503 the client can
	// retry, not a 500. The cause stays wrapped for the log.
	if replica.IsBackendFailure(err) {
		return fmt.Errorf("%w: %w", errPrimaryUnavailable, err)
	}
	return fmt.Errorf("sql: %w", err)
}

// checkLen refuses a value longer than its varchar column, in the DRF shape
// the HTTP layer would have produced, so that PostgreSQL never sees it.
func checkLen(field, value string, limit int) error {
	if utf8.RuneCountInString(value) > limit {
		return condcache.FieldError(condcache.EInvalid, field,
			fmt.Sprintf("Ensure this field has no more than %d characters.", limit))
	}
	return nil
}

// Errors with the reference's detail texts (docs/compatibility.md "Endpoints"), or a clear text where
// the reference crashed with an HTML 500.

func errStatusNotFound(name string) error {
	return condcache.Errorf(condcache.ENotFound, "GlobalTagStatus %q not found.", name)
}

func errGlobalTagNotFound(name string) error {
	return condcache.Errorf(condcache.ENotFound, "GlobalTag %q not found.", name)
}

func errTypeNotFound(name string) error {
	return condcache.Errorf(condcache.ENotFound, "PayloadType %q not found.", name)
}

func errListNotFound(name string) error {
	return condcache.Errorf(condcache.ENotFound, "PayloadList %q not found.", name)
}

func errIOVNotFound(id int64) error {
	return condcache.Errorf(condcache.ENotFound, "PayloadIOV %d not found.", id)
}

func errFrozen() error { return condcache.Errorf(condcache.ELocked, "Global Tag is frozen.") }

func errLocked() error { return condcache.Errorf(condcache.ELocked, "Global Tag is locked.") }

// errInvalidRange is the reference's range-check refusal of POST piov
// (docs/compatibility.md "Payload IOVs"), the same wording in both modes.
func errInvalidRange(url string, start, end condcache.Point) *condcache.Error {
	return condcache.Errorf(condcache.EInvalid,
		"%s PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: %d major_iov_end: %d minor_iov: %d minor_iov_end: %d",
		url, start.Major, end.Major, start.Minor, end.Minor)
}
