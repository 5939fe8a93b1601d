package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// flash is a one-time message shown on the next page after an action.
type flash struct {
	Kind string `json:"k"` // "ok" or "error"
	Text string `json:"t"`
}

func (a *auth) setFlash(c echo.Context, kind, text string) {
	// Failing to seal only loses the message; the action itself succeeded.
	_ = a.cookies.set(c, flashCookie, flash{Kind: kind, Text: text}, time.Now().Add(5*time.Minute))
}

// takeFlash reads the pending message and, once an HTML page has been
// sent with it, removes it.
func (a *auth) takeFlash(c echo.Context) flash {
	var f flash
	if err := a.cookies.get(c, flashCookie, &f); err != nil {
		return flash{}
	}
	if c.Request().Method == http.MethodGet {
		c.Response().Before(func() {
			if strings.HasPrefix(c.Response().Header().Get(echo.HeaderContentType), echo.MIMETextHTML) {
				a.cookies.clear(c, flashCookie)
			}
		})
	}
	return f
}
