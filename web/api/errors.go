package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/problem"
)

// apiError is an error a handler or middleware means for the caller: its
// kind, status and detail go out as they are.
type apiError struct {
	status     int
	kind       string
	detail     string
	fields     []problem.Field
	retryAfter int // seconds; 429 and 409-in-progress
	header     map[string]string
}

func (e *apiError) Error() string { return e.kind + ": " + e.detail }

func newAPIError(status int, kind, detail string) *apiError {
	return &apiError{status: status, kind: kind, detail: detail}
}

// classify turns any error into the problem of c's caller. ok is false
// for an internal error, which the caller sees only as a generic 500.
func classify(c echo.Context, err error) (*apiError, bool) {
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		return ae, true
	}
	if verr := (*provision.ValidationError)(nil); errors.As(err, &verr) {
		e := newAPIError(http.StatusUnprocessableEntity, "validation-failed", "The request has invalid fields; see errors.")
		for _, p := range verr.Problems {
			e.fields = append(e.fields, problem.Field{Field: p.Field, Message: p.Message})
		}
		return e, true
	}
	if se, a, ok := problem.Lookup(c, err, false); ok {
		detail := a.API
		if detail == "" {
			detail = problem.Sentence(se, a.Hint)
		}
		e := newAPIError(a.Status, a.Type, detail)
		e.retryAfter, e.header = a.RetryAfter, a.Header
		if se.Kind == store.KindBadCursor {
			// Every list names its page's place cursor.
			e.fields = []problem.Field{{Field: "cursor", Message: "is not a cursor this list gave out; use the next_cursor of its last page, or leave it out for the first"}}
		}
		return e, true
	}
	if he := (*echo.HTTPError)(nil); errors.As(err, &he) && he.Code < 500 {
		msg, ok := he.Message.(string)
		if !ok {
			msg = http.StatusText(he.Code)
		}
		return newAPIError(he.Code, problem.Slug(he.Code), msg), true
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
			ae, ok := classify(c, err)
			if ok && ae.status >= 500 {
				logger.Warn(problem.Warning(err), "err", err, "route", problem.Route(c), "request_id", problem.RequestID(c))
			}
			if !ok {
				logger.Error("request failed", "err", err, "route", problem.Route(c), "request_id", problem.RequestID(c))
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
	body, err := json.Marshal(problem.Problem{
		Type:      problem.Base + ae.kind,
		Title:     http.StatusText(ae.status),
		Status:    ae.status,
		Detail:    ae.detail,
		Instance:  c.Request().URL.Path,
		RequestID: problem.RequestID(c),
		Errors:    ae.fields,
	})
	if err != nil {
		return err
	}
	return c.Blob(ae.status, "application/problem+json", body)
}
