package auth

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Flash is a one-time message shown on the next page after an action.
type Flash struct {
	Kind string `json:"k"` // "ok" or "error"
	Text string `json:"t"`
}

// SetFlash leaves a one-time message (kind "ok" or "error") for the next
// page the browser shows.
func (a *Auth) SetFlash(c echo.Context, kind, text string) {
	// Failing to seal only loses the message; the action itself succeeded.
	_ = a.cookies.set(c, FlashCookie, Flash{Kind: kind, Text: text}, time.Now().Add(5*time.Minute))
}

// takeFlash reads the pending message and, once an HTML page has been
// sent with it, removes it.
func (a *Auth) takeFlash(c echo.Context) Flash {
	var f Flash
	if err := a.cookies.get(c, FlashCookie, &f); err != nil {
		return Flash{}
	}
	if c.Request().Method == http.MethodGet {
		c.Response().Before(func() {
			if strings.HasPrefix(c.Response().Header().Get(echo.HeaderContentType), echo.MIMETextHTML) {
				a.cookies.clear(c, FlashCookie)
			}
		})
	}
	return f
}
