package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Kind is a class of failure callers act on: web answers each kind with
// its own HTTP status and problem type.
type Kind uint8

// The kinds. The last three refine a general kind (see Kind.General) for
// callers that tell them apart; the others are general themselves.
const (
	// KindNotFound: the row asked for does not exist.
	KindNotFound Kind = iota + 1
	// KindConflict: the change collides with existing data (a unique role
	// name, a second decision by the same approver) or with the current
	// state (the request is no longer pending).
	KindConflict
	// KindInvalid: the values are refused (a rule of the store, or a
	// CHECK or foreign-key constraint).
	KindInvalid
	// KindForbidden: the actor may not do this to this request.
	KindForbidden
	// KindUnavailable: the database could not be reached, or dropped the
	// connection (restarted, failed over); trying again later may work.
	KindUnavailable
	// KindTimeout: the database did not answer before the caller's
	// deadline (a row lock held by another transaction, a slow query, a
	// statement_timeout); nothing was committed, and trying again in a few
	// seconds may work.
	KindTimeout
	// KindBadToken: the bearer token is malformed, unknown, expired or
	// revoked.
	KindBadToken
	// KindBadCursor: a page cursor the store did not give out; an invalid.
	KindBadCursor
	// KindIdempotencyMismatch: an Idempotency-Key used before with another
	// body or for another operation; an invalid.
	KindIdempotencyMismatch
	// KindIdempotencyInFlight: a request with the Idempotency-Key is
	// running now; a conflict.
	KindIdempotencyInFlight
)

// General returns the kind k refines, or k itself.
func (k Kind) General() Kind {
	switch k {
	case KindBadCursor, KindIdempotencyMismatch:
		return KindInvalid
	case KindIdempotencyInFlight:
		return KindConflict
	}
	return k
}

// String returns the words that start the kind's error text.
func (k Kind) String() string {
	switch k.General() {
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindInvalid:
		return "invalid"
	case KindForbidden:
		return "forbidden"
	case KindUnavailable:
		return "database unavailable"
	case KindTimeout:
		return "database timeout"
	case KindBadToken:
		return "invalid API token"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Error is a failure of the store that callers act on by its Kind.
// errors.Is matches it against the sentinels below by kind, so
// errors.Is(err, ErrConflict) holds for every conflict, refined or not.
type Error struct {
	Kind Kind
	// Message says what happened in words a user can act on, as a
	// clause without a final stop ("only admins can retry"); it may be
	// empty.
	Message string
	// constraint is the PostgreSQL constraint that refused a statement.
	constraint string
	// refusal is PostgreSQL's own message when the database refused a
	// statement and the store passes that on in general words. It names
	// tables, columns and constraints: for logs, never for people.
	refusal string
}

// Error returns the kind's words and the message, as "conflict: ...",
// then, when the database refused a statement, what it said, for logs.
func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.refusal != "" {
		s += " (the database said: " + e.refusal + ")"
	}
	return s
}

// Refusal returns, when the database itself refused a statement and the
// store passes the refusal on in general words (a race between two
// writes, or a rule of the schema the store does not check first),
// PostgreSQL's message and the constraint it names ("" when it names
// none). ok is false for any other error. They are for logs: people are
// told Message, which names no table or constraint.
func (e *Error) Refusal() (message, constraint string, ok bool) {
	return e.refusal, e.constraint, e.refusal != ""
}

// Is reports whether target is an *Error of e's kind or of the kind e
// refines; messages are not compared.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && (t.Kind == e.Kind || t.Kind == e.Kind.General())
}

// errorf returns an *Error of kind with a message for people.
func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// The sentinels of the kinds, for errors.Is; the store returns *Error
// values with a message. Each matches every error of its kind.
var (
	ErrNotFound    = &Error{Kind: KindNotFound}
	ErrConflict    = &Error{Kind: KindConflict}
	ErrInvalid     = &Error{Kind: KindInvalid}
	ErrForbidden   = &Error{Kind: KindForbidden}
	ErrUnavailable = &Error{Kind: KindUnavailable}
	// ErrTimeout: the database did not answer before the deadline of the
	// caller's context, or cancelled the statement (statement_timeout).
	ErrTimeout  = &Error{Kind: KindTimeout, Message: "the database took too long to answer; try again in a few seconds"}
	ErrBadToken = &Error{Kind: KindBadToken}
	// ErrBadCursor: a cursor that ListRequests or ListActiveRoles did not
	// produce. It is an ErrInvalid.
	ErrBadCursor = &Error{Kind: KindBadCursor, Message: "malformed page cursor"}
	// ErrIdempotencyMismatch: the key was used before with another body or
	// for another operation. It is an ErrInvalid.
	ErrIdempotencyMismatch = &Error{Kind: KindIdempotencyMismatch, Message: "the Idempotency-Key was used with a different request"}
	// ErrIdempotencyInFlight: a request with the key is running now. It is
	// an ErrConflict.
	ErrIdempotencyInFlight = &Error{Kind: KindIdempotencyInFlight, Message: "a request with this Idempotency-Key is still in progress"}
)

// violated reports whether err is the store's answer to a statement that
// the PostgreSQL constraint named refused.
func violated(err error, constraint string) bool {
	var e *Error
	return errors.As(err, &e) && e.constraint == constraint
}

// refusals are what people are told when the database refuses a statement
// that the store's own checks let through, by SQLSTATE: what went wrong in
// general, never which table or constraint (Error.Refusal keeps those for
// logs). A refusal the store can say better (a role name taken, a second
// decision) is caught by its caller and said in its own words.
var refusals = map[string]struct {
	kind    Kind
	message string
}{
	"23505": {KindConflict, "this collides with something saved at the same moment (the same form sent twice, perhaps); look again before trying once more"},
	"23P01": {KindInvalid, "this overlaps something saved already; look again before trying once more"},
	"23503": {KindInvalid, "this refers to something that does not exist, or no longer does; look again before trying once more"},
	"23514": {KindInvalid, "a value is outside what rolegate accepts; check what was entered"},
	"23502": {KindInvalid, "a value that is needed is missing"},
	"22001": {KindInvalid, "a value is too long"},
	"22P02": {KindInvalid, "a value is not in the form expected"},
	"22021": {KindInvalid, "the text holds characters that cannot be stored (a NUL, or bytes that are not UTF-8)"},
	"22P05": {KindInvalid, "the text holds characters that cannot be stored (a NUL, or bytes that are not UTF-8)"},
}

// interpret is the one place that turns pgx and PostgreSQL errors into the
// store's kinds. Other errors pass through unchanged.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	// Before unavailable: pgx ends a statement at the deadline by closing
	// the connection, which looks like a connection that broke.
	if timedOut(err) {
		return ErrTimeout
	}
	if unavailable(err) {
		return errorf(KindUnavailable, "%v", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if r, ok := refusals[pgErr.Code]; ok {
			return &Error{Kind: r.kind, Message: r.message, constraint: pgErr.ConstraintName, refusal: pgErr.Message}
		}
	}
	return err
}

// timedOut reports whether err means the statement ran out of time: the
// deadline of its context passed, the server cancelled it (57014
// query_canceled: statement_timeout, or a cancel request), or a lock it
// waited for was not granted in time (55P03 lock_not_available:
// lock_timeout).
func timedOut(err error) bool {
	var pgErr *pgconn.PgError
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &pgErr) && (pgErr.Code == "57014" || pgErr.Code == "55P03")
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
