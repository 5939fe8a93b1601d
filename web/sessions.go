package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

// maxSessionsListed bounds the sessions page; ending a user's sessions by
// name reaches those beyond it.
const maxSessionsListed = 500

// sessionsView is the sessions page: the live browser sessions of the
// viewer, or everyone's for an admin, and the form to end a user's.
type sessionsView struct {
	Sessions []store.Session
	All      bool
	Me       string
	Current  int64
	User     string
	Errors   map[string]string
	Now      time.Time
}

// handleSessions lists the signed-in sessions: the viewer's own, or
// everyone's for an admin.
func handleSessions(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		return renderSessions(c, d, "", nil, http.StatusOK)
	}
}

func renderSessions(c echo.Context, d Deps, user string, errs map[string]string, status int) error {
	v := auth.ViewerOf(c.Request().Context())
	sv := sessionsView{All: v.Actor.Has(store.RoleAdmin), Me: v.Actor.Name, Current: v.SessionRef, User: user, Errors: errs, Now: time.Now()}
	owner := sv.Me
	if sv.All {
		owner = ""
	}
	var err error
	if sv.Sessions, err = d.Store.ListSessions(c.Request().Context(), owner, maxSessionsListed); err != nil {
		return err
	}
	return render(c, status, sessionsPage(sv))
}

// handleEndSessions ends every session of the user named (the viewer's
// own when none is): at once, on every instance. Only admins may name
// someone else.
func handleEndSessions(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		user := strings.TrimSpace(c.FormValue("user"))
		if user == "" && !actor.Has(store.RoleAdmin) {
			user = actor.Name
		}
		switch n := utf8.RuneCountInString(user); {
		case n == 0:
			return renderSessions(c, d, user, map[string]string{"user": "Name the user whose sessions to end."}, http.StatusUnprocessableEntity)
		case n > 256:
			return renderSessions(c, d, user, map[string]string{"user": fmt.Sprintf("User names have at most 256 characters (this has %d).", n)}, http.StatusUnprocessableEntity)
		case user != actor.Name && !actor.Has(store.RoleAdmin):
			return echo.NewHTTPError(http.StatusForbidden, "Only admins can end another user's sessions.")
		}
		n, err := d.Store.EndUserSessions(c.Request().Context(), user, actor.Name)
		if err != nil {
			return err
		}
		if user == actor.Name {
			// This browser's session was one of them.
			d.Auth.ClearSession(c)
			d.Auth.SetFlash(c, "ok", fmt.Sprintf("Signed out everywhere (%s).", sessionCount(n)))
			return c.Redirect(http.StatusSeeOther, "/")
		}
		if n == 0 {
			d.Auth.SetFlash(c, "ok", user+" had no signed-in sessions.")
		} else {
			d.Auth.SetFlash(c, "ok", fmt.Sprintf("Ended %s of %s: they must sign in again.", sessionCount(n), user))
		}
		return c.Redirect(http.StatusSeeOther, "/settings/sessions")
	}
}

func sessionCount(n int) string {
	if n == 1 {
		return "1 session"
	}
	return fmt.Sprintf("%d sessions", n)
}
