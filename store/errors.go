package store

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The kinds of failure callers act on. Wrapped errors keep the detail;
// test with errors.Is.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with existing data (a unique role
	// name, a second decision by the same approver) or with the current
	// state (the request is no longer pending).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the database refused the values (a CHECK or foreign-key
	// constraint); callers should have validated earlier.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable: the database could not be reached, or dropped the
	// connection (restarted, failed over); trying again later may work.
	ErrUnavailable = errors.New("database unavailable")
)

// interpret is the one place that turns pgx and PostgreSQL errors into the
// store's kinds. Other errors pass through unchanged.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
		case "23514", "23502", "23503", "22001", "22P02", "23P01", // check, not null, FK, too long, bad text, exclusion
			"22021", "22P05": // text PostgreSQL cannot store: invalid UTF-8, NUL
			return fmt.Errorf("%w: %s (%s)", ErrInvalid, pgErr.Message, pgErr.ConstraintName)
		}
	}
	return err
}

// unavailable reports whether err means the connection or the server went
// away, rather than the server refusing the statement.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exceptions; 57P01-03: the server shut down or the
		// backend was terminated; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed")
}
