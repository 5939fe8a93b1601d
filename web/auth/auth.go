// Package auth knows who a browser user is: OIDC, a trusted proxy's
// headers or the dev users; server-side sessions in sealed cookies; CSRF
// tokens; the roles a page asks for; and who may read /metrics. It
// imports only the store, through the small interface it declares
// (SessionStore). cmd builds it (New) and hands it to the pages.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// Viewer is who is looking at a page and what the layout needs to know
// about them: it travels in the request context, so every page and the
// error pages can show the header without handlers passing it along.
type Viewer struct {
	Actor    store.Actor
	SignedIn bool
	// Decides: the viewer may use the dashboard (approver, admin, or a
	// data owner approval routes name).
	Decides bool
	CSRF    string
	Flash   Flash
	Mode    string
	// SignedInAt is when the viewer last proved who they are (see
	// recentSignIn); SessionRef numbers their session in lists.
	SignedInAt time.Time
	SessionRef int64
}

type viewerKey struct{}

// ViewerOf returns the viewer of the request being rendered; the zero
// viewer (signed out, no CSRF token) outside the identity middleware.
func ViewerOf(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// ActorOf is who the request acts for and whether anyone is signed in.
func ActorOf(c echo.Context) (store.Actor, bool) {
	v := ViewerOf(c.Request().Context())
	return v.Actor, v.SignedIn
}

// Auth holds the identity machinery the middleware and the sign-in
// handlers share.
type Auth struct {
	id      Identity
	cookies *cookies
	oidc    *oidcClient
	// rules returns the approval rules, to tell data owners; nil when no
	// store is served.
	rules func() store.ApprovalRules
	// tokens keeps users' API tokens within their current roles; nil
	// when no store is served.
	tokens *narrower
	// forgetTokens makes the API check the matching tokens with the
	// database again; nil when the API is not served.
	forgetTokens func(drop func(store.Token) bool)
	// sessions keeps the signed-in sessions; nil when no database is
	// served, and then nobody can sign in.
	sessions SessionStore
}

// Deps is what sign-in needs. Only Identity is required.
type Deps struct {
	Identity Identity
	Logger   *slog.Logger
	// Sessions keeps the signed-in sessions; without it nobody can sign in.
	Sessions SessionStore
	// Rules returns the approval rules, to tell data owners; nil: nobody is one.
	Rules func() store.ApprovalRules
	// NarrowTokens takes from a user's API tokens what the user no longer
	// holds; nil: tokens are not narrowed.
	NarrowTokens func(ctx context.Context, user string, roles []store.Role, groups []string) (int, error)
	// ForgetTokens makes the JSON API check the matching tokens with the
	// database again; nil when no API is served.
	ForgetTokens func(drop func(store.Token) bool)
}

// New builds the identity machinery. Without a session key (allowed
// only for dev users or no sign-in; Identity.Validate says so) a random one
// is used: sessions then end when the process does.
func New(d Deps) *Auth {
	id := d.Identity.withDefaults()
	key := id.SessionKey
	if len(key) < 32 {
		key = []byte(RandomToken())
	}
	codec, err := newCookieCodec(key)
	if err != nil {
		panic(err) // unreachable: the key is long enough and AES-GCM is always available
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Auth{id: id, rules: d.Rules, sessions: d.Sessions, forgetTokens: d.ForgetTokens}
	a.cookies = &cookies{codec: codec, secure: id.CookieSecure, trusted: a.trusted()}
	if d.NarrowTokens != nil {
		a.tokens = newNarrower(d.NarrowTokens, logger)
	}
	if id.OIDC != nil {
		a.oidc = &oidcClient{cfg: id.OIDC}
	}
	if id.Mode() == "" {
		logger.Warn("no sign-in configured: the pages ask for OIDC or trusted proxy settings")
	}
	return a
}

// Identity is how users are known, with its defaults filled in.
func (a *Auth) Identity() Identity { return a.id }

// Routes installs the sign-in routes that show no page: the dev users'
// sign-in (when enabled), the OIDC redirect and callback (when
// configured) and sign-out, on g, which runs Identify.
func (a *Auth) Routes(g *echo.Group) {
	g.POST("/signout", a.signout())
	if a.id.DevUsers {
		g.POST("/dev/signin", a.devSignin())
	}
	if a.oidc != nil {
		g.GET("/auth/login", oidcLogin(a))
		g.GET("/auth/callback", oidcCallback(a))
	}
}

// ClearSession removes the browser's session cookie, after its sessions
// were ended on the server.
func (a *Auth) ClearSession(c echo.Context) { a.cookies.clear(c, SessionCookie) }

// ForgetAPITokens makes the API check the matching tokens with the
// database again on their next call.
func (a *Auth) ForgetAPITokens(drop func(store.Token) bool) {
	if a.forgetTokens != nil {
		a.forgetTokens(drop)
	}
}

// Identify works out who the user is from the browser's session (and,
// behind a proxy, the proxy's headers), checks the CSRF token of every
// state-changing request and puts the viewer into the request context.
//
// A signed-in session is a row in the database, looked up on every page
// (remembered only while the store hears every change to sessions): an
// ending takes effect on the next request here, elsewhere when heard.
// Behind a proxy the session is bound to the user the proxy names: a
// browser whose session is another user's (or has none) gets a new one on
// its next page, and its forms are refused until then.
func (a *Auth) Identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		var s session
		if err := a.cookies.get(c, SessionCookie, &s); err != nil || s.ID == "" {
			s = session{}
		}
		var row store.Session
		live := false
		if s.User != "" && a.sessions != nil {
			switch got, err := a.sessions.LookupSession(ctx, s.ID); {
			case err == nil:
				row, live = got, true
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		v := Viewer{Mode: a.id.Mode()}
		acting := "" // whom the request acts for; the CSRF token must be theirs
		switch {
		case a.id.Proxy != nil:
			actor, ok := proxyActor(a.id.Proxy, a.id.Roles, c.Request())
			if !ok {
				break
			}
			acting = actor.Name
			if (!live || row.User != actor.Name) && safeMethod(c.Request().Method) && a.sessions != nil {
				// The proxy names a user this browser has no session of:
				// their session starts now.
				var err error
				if s, row, err = a.startSession(c, actor, time.Time{}); err != nil {
					return err
				}
				live = true
			}
			if live && row.User == actor.Name {
				v.Actor, v.SignedIn = actor, true
			}
		case a.id.DevUsers || a.id.OIDC != nil:
			if live {
				v.Actor, v.SignedIn, acting = row.Actor(), true, row.User
			}
		}
		if v.SignedIn {
			v.SignedInAt, v.SessionRef = row.SignedInAt, row.Ref
		}
		if s.ID == "" || (s.User != "" && !live) {
			// No session, or one that ended: a fresh signed-out one.
			s = session{ID: RandomToken()}
			if err := a.cookies.set(c, SessionCookie, s, time.Now().Add(a.id.SessionLifetime)); err != nil {
				return err
			}
		}
		v.CSRF = a.cookies.codec.csrfToken(s.ID, acting)
		if !safeMethod(c.Request().Method) && !a.csrfOK(c, v.CSRF) {
			return echo.NewHTTPError(http.StatusForbidden,
				"This form has expired or came from another site. Go back, reload the page and try again.")
		}
		if !textOnly(c) {
			return echo.NewHTTPError(http.StatusBadRequest,
				"The form or the address holds characters that are not text (a NUL, or bytes that are not UTF-8). Remove them and try again.")
		}
		if v.SignedIn && a.tokens != nil && a.tokens.observe(ctx, v.Actor) {
			user := v.Actor.Name
			a.ForgetAPITokens(func(t store.Token) bool { return t.User == user })
		}
		v.Decides = v.Actor.Has(store.RoleApprover) || v.Actor.Has(store.RoleAdmin) ||
			(a.rules != nil && isDataOwner(v.Actor, a.rules()))
		v.Flash = a.takeFlash(c)
		c.SetRequest(c.Request().WithContext(context.WithValue(ctx, viewerKey{}, v)))
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
			if TextFault(v) != "" {
				return false
			}
		}
	}
	return true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfOK compares the token of the form (or the X-CSRF-Token header of a
// script) with the one the session and user call for, which another site
// can neither read nor compute.
func (a *Auth) csrfOK(c echo.Context, want string) bool {
	got := c.Request().Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// errNoSessions: sign-in was asked of a server that serves no database.
var errNoSessions = errors.New("sign-in needs the database, which this server does not serve")

// startSession signs actor in: the browser's previous session ends and a
// new one, with a new ID (so a CSRF token seen before is worthless),
// starts. signedInAt is when the user authenticated; zero means now.
func (a *Auth) startSession(c echo.Context, actor store.Actor, signedInAt time.Time) (session, store.Session, error) {
	if a.sessions == nil {
		return session{}, store.Session{}, errNoSessions
	}
	ctx := c.Request().Context()
	var old session
	if err := a.cookies.get(c, SessionCookie, &old); err == nil && old.User != "" {
		if err := a.sessions.EndSession(ctx, old.ID); err != nil {
			return session{}, store.Session{}, err
		}
	}
	row, id, err := a.sessions.CreateSession(ctx, store.NewSession{User: actor.Name, Roles: actor.Roles, Groups: actor.Groups,
		SignedInAt: signedInAt, Lifetime: a.id.SessionLifetime})
	if err != nil {
		return session{}, store.Session{}, err
	}
	s := session{ID: id, User: actor.Name}
	if err := a.cookies.set(c, SessionCookie, s, row.ExpiresAt); err != nil {
		return session{}, store.Session{}, err
	}
	return s, row, nil
}

// endSession signs the browser out: its session ends on the server and
// its cookie is cleared.
func (a *Auth) endSession(c echo.Context) error {
	var s session
	if err := a.cookies.get(c, SessionCookie, &s); err == nil && s.User != "" && a.sessions != nil {
		if err := a.sessions.EndSession(c.Request().Context(), s.ID); err != nil {
			return err
		}
	}
	a.cookies.clear(c, SessionCookie)
	return nil
}

// AllowDeciders lets through approvers, admins and the members of any
// group one of rules' routes names, and refuses everyone else like Allow.
func AllowDeciders(rules func() store.ApprovalRules) echo.MiddlewareFunc {
	approvers := Allow(store.RoleApprover, store.RoleAdmin)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		refuse := approvers(next)
		return func(c echo.Context) error {
			if actor, ok := ActorOf(c); ok && isDataOwner(actor, rules()) {
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

// Allow lets signed-in users holding any of roles through; with no roles,
// any signed-in user. Signed-out browsers asking for a page are sent to
// sign in and brought back afterwards.
func Allow(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			actor, ok := ActorOf(c)
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

// LocalPath returns p when it is a path on this site, else fallback: the
// "next" and "return" parameters must not send users elsewhere.
func LocalPath(p, fallback string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return fallback
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return p
}

// TextFault says why s is not text the store can keep (PostgreSQL refuses
// NUL and invalid UTF-8), or "" when it is.
func TextFault(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be UTF-8 text"
	case strings.ContainsRune(s, 0):
		return "must not contain NUL characters"
	}
	return ""
}
