package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// problemBase prefixes every problem type; the suffixes are stable and
// documented in the OpenAPI document.
const problemBase = "https://rolegate.dev/problems/"

// apiProblem is the RFC 9457 document the API answers every error with.
type apiProblem struct {
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

// apiError is an error a handler or middleware means for the caller: its
// kind, status and detail go out as they are.
type apiError struct {
	status     int
	kind       string
	detail     string
	fields     []fieldProblem
	retryAfter int // seconds; 429 and 409-in-progress
	header     map[string]string
}

func (e *apiError) Error() string { return e.kind + ": " + e.detail }

func newAPIError(status int, kind, detail string) *apiError {
	return &apiError{status: status, kind: kind, detail: detail}
}

// trimKind drops the "conflict: " style prefix of a store error, which
// would only repeat the title.
func trimKind(err error, kind error) string {
	msg := strings.TrimPrefix(err.Error(), kind.Error()+": ")
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// classify turns any error into the caller's problem. ok is false for an
// internal error, which the caller sees only as a generic 500.
func classify(err error) (*apiError, bool) {
	var ae *apiError
	var verr *provision.ValidationError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &verr):
		e := newAPIError(http.StatusUnprocessableEntity, "validation-failed", "The request has invalid fields; see errors.")
		for _, p := range verr.Problems {
			e.fields = append(e.fields, fieldProblem{Field: p.Field, Message: p.Message})
		}
		return e, true
	case errors.Is(err, store.ErrBadToken):
		e := newAPIError(http.StatusUnauthorized, "unauthorized", trimKind(err, store.ErrBadToken)+".")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="rolegate", error="invalid_token"`}
		return e, true
	case errors.Is(err, store.ErrUnavailable):
		e := newAPIError(http.StatusServiceUnavailable, "unavailable", "The database is not answering right now; retry shortly.")
		e.retryAfter = 1
		return e, true
	case errors.Is(err, store.ErrNotFound):
		return newAPIError(http.StatusNotFound, "not-found", "No such resource."), true
	case errors.Is(err, store.ErrForbidden):
		return newAPIError(http.StatusForbidden, "forbidden", trimKind(err, store.ErrForbidden)+"."), true
	case errors.Is(err, store.ErrIdempotencyInFlight):
		e := newAPIError(http.StatusConflict, "idempotency-key-in-use", trimKind(err, store.ErrConflict)+"; retry shortly.")
		e.retryAfter = 1
		return e, true
	case errors.Is(err, store.ErrConflict):
		return newAPIError(http.StatusConflict, "conflict", trimKind(err, store.ErrConflict)+"."), true
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return newAPIError(http.StatusUnprocessableEntity, "idempotency-key-mismatch", trimKind(err, store.ErrInvalid)+"; use a new key for a new request."), true
	case errors.Is(err, store.ErrBadCursor):
		return newAPIError(http.StatusBadRequest, "bad-query", "The cursor is not one this API gave out."), true
	case errors.Is(err, store.ErrInvalid):
		return newAPIError(http.StatusUnprocessableEntity, "invalid", trimKind(err, store.ErrInvalid)+"."), true
	case errors.As(err, &he) && he.Code < 500:
		msg, ok := he.Message.(string)
		if !ok {
			msg = http.StatusText(he.Code)
		}
		return newAPIError(he.Code, strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "-"), msg), true
	}
	return nil, false
}

// apiProblems is the API's error handler: every error a handler returns
// becomes problem+json here; internal errors are logged once, with the
// request ID the caller sees.
func apiProblems(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || c.Response().Committed {
				return err
			}
			if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
				return err // the caller went away; the error handler records it
			}
			ae, ok := classify(err)
			if ok && ae.status >= 500 {
				logger.Warn("request failed: dependency unavailable", "err", err, "route", routeOf(c), "request_id", requestID(c))
			}
			if !ok {
				logger.Error("request failed", "err", err, "route", routeOf(c), "request_id", requestID(c))
				ae = newAPIError(http.StatusInternalServerError, "internal",
					"Something went wrong on our side. It has been logged; quote the request ID if you report it.")
			}
			return writeProblem(c, ae)
		}
	}
}

func writeProblem(c echo.Context, ae *apiError) error {
	h := c.Response().Header()
	for k, v := range ae.header {
		h.Set(k, v)
	}
	if ae.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	body, err := json.Marshal(apiProblem{
		Type:      problemBase + ae.kind,
		Title:     http.StatusText(ae.status),
		Status:    ae.status,
		Detail:    ae.detail,
		Instance:  c.Request().URL.Path,
		RequestID: requestID(c),
		Errors:    ae.fields,
	})
	if err != nil {
		return err
	}
	return c.Blob(ae.status, "application/problem+json", body)
}
