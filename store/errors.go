package store

import (
	"errors"
	"fmt"

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
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
		case "23514", "23502", "23503", "22001", "22P02", "23P01": // check, not null, FK, too long, bad text, exclusion
			return fmt.Errorf("%w: %s (%s)", ErrInvalid, pgErr.Message, pgErr.ConstraintName)
		}
	}
	return err
}
