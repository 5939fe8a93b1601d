package web

import (
	"net/http"
	"strings"

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
		if _, ok := actorOf(c); ok {
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
		if err := a.startSession(c, store.Actor{Name: u.Name, Roles: u.Roles, Groups: u.Groups}); err != nil {
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

// handleSignout ends the session; behind a proxy it goes on to the
// proxy's own sign-out.
func handleSignout(a *auth) echo.HandlerFunc {
	return func(c echo.Context) error {
		a.cookies.clear(c, sessionCookie, "/")
		if a.id.Proxy != nil {
			return c.Redirect(http.StatusSeeOther, a.id.Proxy.SignOutURL)
		}
		a.setFlash(c, "ok", "You are signed out.")
		return c.Redirect(http.StatusSeeOther, "/signin")
	}
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
