package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// problem is the RFC 9457 document every error answered in JSON is, on
// the API and off it.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Instance  string         `json:"instance,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []fieldProblem `json:"errors,omitempty"`
}

// fieldProblem is one invalid field of a request body or query.
type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// answer is how one kind of store error reaches people.
type answer struct {
	status  int
	problem string // the API's problem type: problemBase + problem
	page    string // what pages say; "" says the store's message
	api     string // what the API says; "" says the store's message, then hint
	hint    string
	// retryAfter (seconds) and header go out with the API's answer.
	retryAfter int
	header     map[string]string
}

// answers is the one table of the store's error kinds. Pages answer with
// the row of the general kind (a person reads the message; the refined
// kinds' problem types are for programs), the API with the kind's own row.
// A kind not in the table is an internal error.
var answers = map[store.Kind]answer{
	store.KindUnavailable: {status: http.StatusServiceUnavailable, problem: "unavailable",
		page:       "The database is not answering right now. Nothing was lost; try again in a moment.",
		api:        "The database is not answering right now; retry shortly.",
		retryAfter: 1},
	// A not-found keeps a fixed message so it reveals nothing.
	store.KindNotFound: {status: http.StatusNotFound, problem: "not-found",
		page: "There is nothing here. It may have been removed, or the link is mistyped.",
		api:  "No such resource."},
	store.KindForbidden: {status: http.StatusForbidden, problem: "forbidden"},
	store.KindConflict:  {status: http.StatusConflict, problem: "conflict"},
	store.KindInvalid:   {status: http.StatusUnprocessableEntity, problem: "invalid"},
	store.KindBadToken: {status: http.StatusUnauthorized, problem: "unauthorized",
		header: map[string]string{"WWW-Authenticate": `Bearer realm="rolegate", error="invalid_token"`}},
	store.KindBadCursor: {status: http.StatusBadRequest, problem: "bad-query",
		api: "The cursor is not one this API gave out."},
	store.KindIdempotencyInFlight: {status: http.StatusConflict, problem: "idempotency-key-in-use",
		hint: "; retry shortly", retryAfter: 1},
	store.KindIdempotencyMismatch: {status: http.StatusUnprocessableEntity, problem: "idempotency-key-mismatch",
		hint: "; use a new key for a new request"},
}

// storeAnswer finds the store error in err and the table's row for kind
// (of that error, or its general kind); ok is false for any other error.
func storeAnswer(err error, general bool) (*store.Error, answer, bool) {
	var se *store.Error
	if !errors.As(err, &se) {
		return nil, answer{}, false
	}
	kind := se.Kind
	if general {
		kind = kind.General()
	}
	a, ok := answers[kind]
	return se, a, ok
}

// sentence makes the store's message of se, a clause, into a sentence
// that ends in hint and a full stop; a bare kind says its name.
func sentence(se *store.Error, hint string) string {
	msg := se.Message
	if msg == "" {
		msg = se.Kind.String()
	}
	r, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[size:] + hint + "."
}

// statusClientClosed records a request its caller abandoned.
const statusClientClosed = 499

// errorHandler is the one place errors become responses. Errors the
// handlers meant for users (echo.HTTPError) keep their status and message;
// anything else is an internal error: logged once here with the request ID,
// and shown to the user only as a generic message with that ID.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The caller went away: nothing failed on our side and nobody
			// reads the answer. 499 is the usual record of it.
			c.Response().WriteHeader(statusClientClosed)
			return
		}
		status := http.StatusInternalServerError
		msg := "Something went wrong on our side. It has been logged; quote the request ID if you report it."
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code < 500 {
			status = he.Code
			if m, ok := he.Message.(string); ok {
				msg = m
			} else {
				msg = http.StatusText(status)
			}
		} else if s, m, ok := userError(err); ok {
			status, msg = s, m
			if s >= 500 {
				logger.Warn("request failed: dependency unavailable", "err", err, "route", routeOf(c), "request_id", requestID(c))
			}
		} else {
			logger.Error("request failed", "err", err, "route", routeOf(c), "request_id", requestID(c))
		}
		var werr error
		switch {
		case wantsJSON(c.Request()):
			c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
			werr = c.JSON(status, problem{
				Type:      problemBase + statusProblem(status),
				Title:     http.StatusText(status),
				Status:    status,
				Detail:    msg,
				RequestID: requestID(c),
			})
		default:
			werr = render(c, status, errorPage(status, errorTitle(status), msg, requestID(c)))
		}
		if werr != nil {
			logger.Error("writing error response failed", "err", werr, "request_id", requestID(c))
		}
	}
}

// wantsJSON reports whether the caller is automation rather than a browser.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, "json") && !strings.Contains(accept, "text/html")
}

// userError is what pages say about err: the status and message of its
// store error kind, or of a validation error; ok is false for any other
// error.
func userError(err error) (status int, msg string, ok bool) {
	if se, a, ok := storeAnswer(err, true); ok {
		if a.page != "" {
			return a.status, a.page, true
		}
		return a.status, sentence(se, ""), true
	}
	var verr *provision.ValidationError
	if errors.As(err, &verr) {
		return http.StatusUnprocessableEntity, verr.Error(), true
	}
	return 0, "", false
}

// errorTitle is the friendly heading of an error page.
func errorTitle(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Please sign in"
	case http.StatusForbidden:
		return "You can't do that here"
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusConflict:
		return "That changed in the meantime"
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		return "That didn't work"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return http.StatusText(status)
}
