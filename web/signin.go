package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

// handleHome sends signed-in users to their requests (approvers to the
// dashboard) and shows everyone else the start page.
func handleHome(version string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if actor, ok := auth.ActorOf(c); ok {
			if actor.Has(store.RoleApprover) || actor.Has(store.RoleAdmin) {
				return c.Redirect(http.StatusSeeOther, "/dashboard")
			}
			return c.Redirect(http.StatusSeeOther, "/requests")
		}
		return render(c, http.StatusOK, homePage(version))
	}
}

func handleSignin(a *auth.Auth) echo.HandlerFunc {
	return func(c echo.Context) error {
		next := auth.LocalPath(c.QueryParam("next"), "/")
		// again=1 is "sign in again" (a recent sign-in is asked for): the
		// page is shown to a signed-in user too.
		if _, ok := auth.ActorOf(c); ok && c.QueryParam("again") != "1" {
			return c.Redirect(http.StatusSeeOther, next)
		}
		return render(c, http.StatusOK, signinPage(a.Identity().Mode(), next, ""))
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
