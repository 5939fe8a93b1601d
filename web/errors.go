package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id,omitempty"`
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
				Type:      "https://rolegate.dev/problems/" + strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-"),
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

// userError maps the store's error kinds to statuses. Their messages are
// written for users (who may not do what, which state forbids it); a
// not-found keeps a fixed message so it reveals nothing.
func userError(err error) (int, string, bool) {
	var verr *provision.ValidationError
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable, "The database is not answering right now. Nothing was lost; try again in a moment.", true
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "There is nothing here. It may have been removed, or the link is mistyped.", true
	case errors.Is(err, store.ErrForbidden):
		return http.StatusForbidden, capitalise(strings.TrimPrefix(err.Error(), store.ErrForbidden.Error()+": ")) + ".", true
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, capitalise(strings.TrimPrefix(err.Error(), store.ErrConflict.Error()+": ")) + ".", true
	case errors.As(err, &verr):
		return http.StatusUnprocessableEntity, verr.Error(), true
	case errors.Is(err, store.ErrInvalid):
		return http.StatusUnprocessableEntity, capitalise(strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": ")) + ".", true
	}
	return 0, "", false
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
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
