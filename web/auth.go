package web

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// viewer is who is looking at a page and what the layout needs to know
// about them: it travels in the request context, so every page and the
// error pages can show the header without handlers passing it along.
type viewer struct {
	Actor    store.Actor
	SignedIn bool
	// Decides: the viewer may use the dashboard (approver, admin, or a
	// data owner approval routes name).
	Decides bool
	CSRF    string
	Flash   flash
	Mode    string
}

type viewerKey struct{}

// viewerOf returns the viewer of the request being rendered; the zero
// viewer (signed out, no CSRF token) outside the identity middleware.
func viewerOf(ctx context.Context) viewer {
	v, _ := ctx.Value(viewerKey{}).(viewer)
	return v
}

func actorOf(c echo.Context) (store.Actor, bool) {
	v := viewerOf(c.Request().Context())
	return v.Actor, v.SignedIn
}

// auth holds the identity machinery the middleware and the sign-in
// handlers share.
type auth struct {
	id      Identity
	cookies *cookies
	oidc    *oidcClient
	// rules returns the approval rules, to tell data owners; nil when no
	// store is served.
	rules func() store.ApprovalRules
	// tokens keeps users' API tokens within their current roles; nil
	// when no store is served.
	tokens *narrower
	// apiTokens are the API's recently checked tokens; nil when the API
	// is not served.
	apiTokens *tokenCache
}

// forgetAPITokens makes the API check the matching tokens with the
// database again on their next call.
func (a *auth) forgetAPITokens(drop func(store.Token) bool) {
	if a.apiTokens != nil {
		a.apiTokens.forget(drop)
	}
}

// identify loads (or starts) the browser's session, works out who the
// user is, checks the CSRF token of every state-changing request and puts
// the viewer into the request context.
func (a *auth) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var s session
		if err := a.cookies.get(c, sessionCookie, &s); err != nil || s.CSRF == "" {
			s = session{CSRF: randomToken(), Expires: time.Now().Add(a.id.SessionLifetime).Unix()}
			if err := a.cookies.set(c, sessionCookie, "/", s, time.Unix(s.Expires, 0)); err != nil {
				return err
			}
		}
		v := viewer{CSRF: s.CSRF, Mode: a.id.Mode()}
		switch {
		case a.id.Proxy != nil:
			v.Actor, v.SignedIn = proxyActor(a.id.Proxy, a.id.Roles, c.Request())
		case a.id.DevUsers || a.id.OIDC != nil:
			v.Actor, v.SignedIn = s.actor()
		}
		if !safeMethod(c.Request().Method) && !a.csrfOK(c, s.CSRF) {
			return echo.NewHTTPError(http.StatusForbidden,
				"This form has expired or came from another site. Go back, reload the page and try again.")
		}
		if !textOnly(c) {
			return echo.NewHTTPError(http.StatusBadRequest,
				"The form or the address holds characters that are not text (a NUL, or bytes that are not UTF-8). Remove them and try again.")
		}
		if v.SignedIn && a.tokens != nil && a.tokens.observe(c.Request().Context(), v.Actor) {
			user := v.Actor.Name
			a.forgetAPITokens(func(t store.Token) bool { return t.User == user })
		}
		v.Decides = v.Actor.Has(store.RoleApprover) || v.Actor.Has(store.RoleAdmin) ||
			(a.rules != nil && isDataOwner(v.Actor, a.rules()))
		v.Flash = a.takeFlash(c)
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), viewerKey{}, v)))
		return next(c)
	}
}

// textOnly reports whether every query and form value is text the store
// can keep and compare: PostgreSQL refuses NUL and invalid UTF-8, which
// would otherwise surface as internal errors.
func textOnly(c echo.Context) bool {
	vals := c.QueryParams()
	if !safeMethod(c.Request().Method) {
		if f, err := c.FormParams(); err == nil {
			vals = f
		}
	}
	for _, vs := range vals {
		for _, v := range vs {
			if textProblem(v) != "" {
				return false
			}
		}
	}
	return true
}

// textProblem says why s is not storable text, or "" when it is.
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be UTF-8 text"
	case strings.ContainsRune(s, 0):
		return "must not contain NUL characters"
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfOK compares the token of the form (or the X-CSRF-Token header of a
// script) with the one in the sealed session cookie, which another site
// can neither read nor set.
func (a *auth) csrfOK(c echo.Context, want string) bool {
	got := c.Request().Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// startSession signs actor in: a new session with a new CSRF token, so a
// token seen before sign-in is worthless after it.
func (a *auth) startSession(c echo.Context, actor store.Actor) error {
	s := session{User: actor.Name, Roles: actor.Roles, Groups: actor.Groups, CSRF: randomToken(),
		Expires: time.Now().Add(a.id.SessionLifetime).Unix()}
	return a.cookies.set(c, sessionCookie, "/", s, time.Unix(s.Expires, 0))
}

// allow lets signed-in users holding any of roles through; with no roles,
// any signed-in user. Signed-out browsers asking for a page are sent to
// sign in and brought back afterwards.
// allowDeciders lets through approvers, admins and the members of any
// group an approval route names, and refuses everyone else like allow.
func allowDeciders(d Deps) echo.MiddlewareFunc {
	approvers := allow(store.RoleApprover, store.RoleAdmin)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		refuse := approvers(next)
		return func(c echo.Context) error {
			if actor, ok := actorOf(c); ok && isDataOwner(actor, d.Store.Rules()) {
				return next(c)
			}
			return refuse(c)
		}
	}
}

// isDataOwner reports whether actor belongs to a group an approval route
// sends requests to.
func isDataOwner(actor store.Actor, rules store.ApprovalRules) bool {
	for _, r := range rules.Routes {
		if actor.InGroup(r.Group) {
			return true
		}
	}
	return false
}

func allow(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			actor, ok := actorOf(c)
			if !ok {
				if c.Request().Method == http.MethodGet {
					return c.Redirect(http.StatusSeeOther, "/signin?next="+url.QueryEscape(c.Request().URL.RequestURI()))
				}
				return echo.NewHTTPError(http.StatusUnauthorized, "Sign in first.")
			}
			if len(actor.Roles) == 0 {
				return echo.NewHTTPError(http.StatusForbidden, "You are signed in but hold no role in rolegate. Ask an admin to add you to a group.")
			}
			for _, r := range roles {
				if actor.Has(r) {
					return next(c)
				}
			}
			if len(roles) == 0 {
				return next(c)
			}
			return echo.NewHTTPError(http.StatusForbidden, "This page is for "+roleWords(roles)+".")
		}
	}
}

func roleWords(roles []store.Role) string {
	words := make([]string, len(roles))
	for i, r := range roles {
		words[i] = string(r) + "s"
	}
	return strings.Join(words, " and ")
}

// localPath returns p when it is a path on this site, else fallback: the
// "next" and "return" parameters must not send users elsewhere.
func localPath(p, fallback string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return fallback
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return p
}
