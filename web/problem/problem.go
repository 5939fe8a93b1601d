// Package problem is the one table of how errors reach people, shared by
// the pages' error handler (package web) and the JSON API's problem+json
// writer (package web/api): the RFC 9457 document, the row of each store
// error kind, and the request ID every answer quotes.
package problem

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// Base prefixes every problem type: Base + "not-found".
const Base = "https://rolegate.dev/problems/"

// Problem is the RFC 9457 document every error answered in JSON is, on
// the API and off it.
type Problem struct {
	Type      string  `json:"type"`
	Title     string  `json:"title"`
	Status    int     `json:"status"`
	Detail    string  `json:"detail"`
	Instance  string  `json:"instance,omitempty"`
	RequestID string  `json:"request_id,omitempty"`
	Errors    []Field `json:"errors,omitempty"`
}

// Field is one invalid field of a request body or query.
type Field struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Answer is how one kind of store error reaches people.
type Answer struct {
	Status int
	Type   string // the API's problem type: Base + Type
	Page   string // what pages say; "" says the store's message
	API    string // what the API says; "" says the store's message, then Hint
	Hint   string
	// RetryAfter (seconds) goes out with pages and the API's answer alike,
	// Header with the API's.
	RetryAfter int
	Header     map[string]string
}

// answers is the one table of the store's error kinds. Pages answer with
// the row of the general kind (a person reads the message; the refined
// kinds' problem types are for programs), the API with the kind's own row.
// A kind not in the table is an internal error.
var answers = map[store.Kind]Answer{
	store.KindUnavailable: {Status: http.StatusServiceUnavailable, Type: "unavailable",
		Page:       "The database is not answering right now. Nothing was lost; try again in a moment.",
		API:        "The database is not answering right now; retry shortly.",
		RetryAfter: 1},
	// A request that ran out of its deadline (--request-timeout), most
	// often behind another transaction's row lock: the store's message,
	// and a few seconds for the lock to clear.
	store.KindTimeout: {Status: http.StatusServiceUnavailable, Type: "timeout", RetryAfter: 5},
	// A not-found keeps a fixed message so it reveals nothing.
	store.KindNotFound: {Status: http.StatusNotFound, Type: "not-found",
		Page: "There is nothing here. It may have been removed, or the link is mistyped.",
		API:  "No such resource."},
	store.KindForbidden: {Status: http.StatusForbidden, Type: "forbidden"},
	store.KindConflict:  {Status: http.StatusConflict, Type: "conflict"},
	store.KindInvalid:   {Status: http.StatusUnprocessableEntity, Type: "invalid"},
	store.KindBadToken: {Status: http.StatusUnauthorized, Type: "unauthorized",
		Header: map[string]string{"WWW-Authenticate": `Bearer realm="rolegate", error="invalid_token"`}},
	store.KindBadCursor: {Status: http.StatusBadRequest, Type: "bad-query",
		API: "The cursor is not one this API gave out."},
	store.KindIdempotencyInFlight: {Status: http.StatusConflict, Type: "idempotency-key-in-use",
		Hint: "; retry shortly", RetryAfter: 1},
	store.KindIdempotencyMismatch: {Status: http.StatusUnprocessableEntity, Type: "idempotency-key-mismatch",
		Hint: "; use a new key for a new request"},
}

// Lookup finds the store error in err (a bare context.DeadlineExceeded
// is store.ErrTimeout) and the table's row for its kind
// (or, when general, its general kind); ok is false for any other error
// and for a kind the table lacks. When the database itself refused a
// statement (store.Error.Refusal), it notes what the database said on c
// for the request's log line (RefusalOf): people are told only the
// store's general words.
func Lookup(c echo.Context, err error, general bool) (se *store.Error, a Answer, ok bool) {
	if !errors.As(err, &se) {
		if !errors.Is(err, context.DeadlineExceeded) {
			return nil, Answer{}, false
		}
		// The request's deadline, met outside the store's interpreter
		// (waiting for a pooled connection, say): the same timeout.
		se = store.ErrTimeout
	}
	if msg, constraint, refused := se.Refusal(); refused && c != nil {
		c.Set(refusalKey, Refusal{Message: msg, Constraint: constraint})
	}
	if se.Kind == store.KindTimeout && bodyLate(c) {
		return se, slowBody, true
	}
	kind := se.Kind
	if general {
		kind = kind.General()
	}
	a, ok = answers[kind]
	return se, a, ok
}

// Warning is what the log's warning says of err, a failure answered with
// an honest 5xx (a kind of the table): the request ran out of time, or
// the database was away.
func Warning(err error) string {
	if errors.Is(err, store.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return "request failed: timed out"
	}
	return "request failed: dependency unavailable"
}

// Refusal is what the database said when it refused a statement whose
// error reached people in the store's general words: PostgreSQL's message
// and the constraint it names ("" when none). It goes to the log only.
type Refusal struct {
	Message    string
	Constraint string
}

// refusalKey holds the Refusal Lookup noted on the echo context.
const refusalKey = "rolegate.db_refusal"

// RefusalOf returns the Refusal Lookup noted on c while answering the
// request; ok is false when there was none.
func RefusalOf(c echo.Context) (r Refusal, ok bool) {
	r, ok = c.Get(refusalKey).(Refusal)
	return r, ok
}

// Sentence makes the store's message of se, a clause, into a sentence
// that ends in hint and a full stop; a bare kind says its name.
func Sentence(se *store.Error, hint string) string {
	msg := se.Message
	if msg == "" {
		msg = se.Kind.String()
	}
	r, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[size:] + hint + "."
}

// Slug is the problem type of a bare HTTP status: "not-found" for 404.
func Slug(status int) string {
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-")
}

// RequestID is the ID the request-ID middleware gave the request; "" before it.
func RequestID(c echo.Context) string {
	id, _ := c.Get("request_id").(string)
	return id
}

// Route is the route template (e.g. /requests/:id), never the raw path,
// so metrics and logs have bounded label sets and no user input.
func Route(c echo.Context) string {
	if p := c.Path(); p != "" && c.Response().Status != 404 {
		return p
	}
	return "unmatched"
}

// ForbiddenView is what pages and API say to someone who may not read a
// request: who may, without saying whether it exists beyond that.
const ForbiddenView = "This request belongs to someone else. Its requester, approvers, admins and the data owners its buckets are routed to may read it."
