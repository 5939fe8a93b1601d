package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
)

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
		signIn := false
		var he *echo.HTTPError
		var sie *auth.SignInError
		if errors.As(err, &sie) {
			// A sign-in that failed is the user's (or the provider's)
			// doing, not ours: a warning, and a link to start again.
			status, msg, signIn = sie.Status, sie.Message(), true
			logger.Warn("sign-in failed", "status", status, "reason", sie.Reason, "cause", causeText(sie.Cause),
				"route", problem.Route(c), "request_id", problem.RequestID(c))
		} else if errors.As(err, &he) && he.Code < 500 {
			status = he.Code
			if m, ok := he.Message.(string); ok {
				msg = m
			} else {
				msg = http.StatusText(status)
			}
		} else if s, m, ok := userError(c, err); ok {
			status, msg = s, m
			if _, a, _ := problem.Lookup(c, err, true); a.RetryAfter > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(a.RetryAfter))
			}
			if s >= 500 {
				logger.Warn(problem.Warning(err), "err", err, "route", problem.Route(c), "request_id", problem.RequestID(c))
			}
		} else {
			logger.Error("request failed", "err", err, "route", problem.Route(c), "request_id", problem.RequestID(c))
		}
		var werr error
		switch {
		case wantsJSON(c.Request()):
			c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
			werr = c.JSON(status, problem.Problem{
				Type:      problem.Base + problem.Slug(status),
				Title:     http.StatusText(status),
				Status:    status,
				Detail:    msg,
				RequestID: problem.RequestID(c),
			})
		default:
			werr = render(c, status, errorPage(status, errorTitle(status), msg, problem.RequestID(c), signIn || status == http.StatusUnauthorized))
		}
		if werr != nil {
			logger.Error("writing error response failed", "err", werr, "request_id", problem.RequestID(c))
		}
	}
}

// causeText is err's text for the log, "" for none.
func causeText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// wantsJSON reports whether the caller is automation rather than a browser.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, "json") && !strings.Contains(accept, "text/html")
}

// userError is what pages say about err in answer to c: the status and
// message of its store error kind, or of a validation error; ok is false
// for any other error.
func userError(c echo.Context, err error) (status int, msg string, ok bool) {
	if se, a, ok := problem.Lookup(c, err, true); ok {
		if a.Page != "" {
			return a.Status, a.Page, true
		}
		return a.Status, problem.Sentence(se, ""), true
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
