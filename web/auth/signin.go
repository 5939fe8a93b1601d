package auth

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// devSignin signs in (or switches to) one of the dev users. It is
// routed only when dev users are enabled.
func (a *Auth) devSignin() echo.HandlerFunc {
	return func(c echo.Context) error {
		u, ok := devUser(c.FormValue("user"))
		if !ok {
			return echo.NewHTTPError(http.StatusBadRequest, "No such dev user.")
		}
		if _, _, err := a.startSession(c, store.Actor{Name: u.Name, Roles: u.Roles, Groups: u.Groups}, time.Time{}); err != nil {
			return err
		}
		a.SetFlash(c, "ok", "Signed in as "+u.Name+".")
		next := LocalPath(c.FormValue("next"), "/")
		if next == "/" || strings.HasPrefix(next, "/signin") {
			next = "/"
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
}

// signout ends the session on the server, so a copy of the cookie
// is worthless too. Behind a proxy it goes on to the proxy's own sign-out,
// passing the form's "next" path as rd (which oauth2-proxy follows once
// signed out, so the proxy signs the user in again and brings them back).
func (a *Auth) signout() echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := a.endSession(c); err != nil {
			return err
		}
		if a.id.Proxy != nil {
			return c.Redirect(http.StatusSeeOther, proxySignOutURL(a.id.Proxy.SignOutURL, LocalPath(c.FormValue("next"), "")))
		}
		a.SetFlash(c, "ok", "You are signed out.")
		return c.Redirect(http.StatusSeeOther, "/signin")
	}
}

// proxySignOutURL is the proxy's sign-out address with rd=next added
// (unless next is empty or the address already names one).
func proxySignOutURL(signOut, next string) string {
	u, err := url.Parse(signOut)
	if next == "" || err != nil || u.Query().Has("rd") {
		return signOut
	}
	q := u.Query()
	q.Set("rd", next)
	u.RawQuery = q.Encode()
	return u.String()
}
