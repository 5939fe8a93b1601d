package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// handleHome sends signed-in users to their requests (approvers to the
// dashboard) and shows everyone else the start page.
func handleHome(version string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if actor, ok := actorOf(c); ok {
			if actor.Has(store.RoleApprover) || actor.Has(store.RoleAdmin) {
				return c.Redirect(http.StatusSeeOther, "/dashboard")
			}
			return c.Redirect(http.StatusSeeOther, "/requests")
		}
		return render(c, http.StatusOK, homePage(version))
	}
}

func handleSignin(a *auth) echo.HandlerFunc {
	return func(c echo.Context) error {
		next := localPath(c.QueryParam("next"), "/")
		// again=1 is "sign in again" (a recent sign-in is asked for): the
		// page is shown to a signed-in user too.
		if _, ok := actorOf(c); ok && c.QueryParam("again") != "1" {
			return c.Redirect(http.StatusSeeOther, next)
		}
		return render(c, http.StatusOK, signinPage(a.id.Mode(), next, ""))
	}
}

// handleDevSignin signs in (or switches to) one of the dev users. It is
// routed only when dev users are enabled.
func handleDevSignin(a *auth) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, ok := devUser(c.FormValue("user"))
		if !ok {
			return echo.NewHTTPError(http.StatusBadRequest, "No such dev user.")
		}
		if _, _, err := a.startSession(c, store.Actor{Name: u.Name, Roles: u.Roles, Groups: u.Groups}, time.Time{}); err != nil {
			return err
		}
		a.setFlash(c, "ok", "Signed in as "+u.Name+".")
		next := localPath(c.FormValue("next"), "/")
		if next == "/" || strings.HasPrefix(next, "/signin") {
			next = "/"
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
}

// handleSignout ends the session on the server, so a copy of the cookie
// is worthless too. Behind a proxy it goes on to the proxy's own sign-out,
// passing the form's "next" path as rd (which oauth2-proxy follows once
// signed out, so the proxy signs the user in again and brings them back).
func handleSignout(a *auth) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := a.endSession(c); err != nil {
			return err
		}
		if a.id.Proxy != nil {
			return c.Redirect(http.StatusSeeOther, proxySignOutURL(a.id.Proxy.SignOutURL, localPath(c.FormValue("next"), "")))
		}
		a.setFlash(c, "ok", "You are signed out.")
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

func rolesText(roles []store.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	if len(s) == 0 {
		return "no role"
	}
	return strings.Join(s, ", ")
}

func joinComma(s []string) string { return strings.Join(s, ", ") }
