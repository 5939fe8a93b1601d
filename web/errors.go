package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// errorHandler is the one place errors become responses. Errors the
// handlers meant for users (echo.HTTPError) keep their status and message;
// anything else is an internal error: logged once here with the request ID,
// and shown to the user only as a generic message with that ID.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
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
		} else {
			logger.Error("request failed", "err", err, "route", routeOf(c), "request_id", requestID(c))
		}
		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(status)
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
			werr = render(c, status, errorPage(status, http.StatusText(status), msg, requestID(c)))
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
