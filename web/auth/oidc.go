package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/rolegate/rolegate/store"
)

// oidcClient discovers the provider on first use, so rolegate starts even
// when the provider is briefly unreachable; a failed discovery is tried
// again at the next sign-in.
type oidcClient struct {
	cfg *OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider
}

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

func (o *oidcClient) get(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("oidc discovery at %s: %w", o.cfg.Issuer, err)
		}
		o.provider = p
	}
	return o.provider, &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: o.provider.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}, nil
}

// pendingAuth is what the auth cookie carries from the redirect to the
// callback.
type pendingAuth struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
}

// oidcLogin starts the authorization code flow with PKCE: fresh
// state, nonce and verifier, kept sealed in a short-lived cookie. With
// reauth=1 (signing in again for an action that asks for a recent
// sign-in) it asks the provider to check the user's credentials again
// (prompt=login) rather than reuse its own session.
func oidcLogin(a *Auth) echo.HandlerFunc {
	return func(c echo.Context) error {
		_, conf, err := a.oidc.get(c.Request().Context())
		if err != nil {
			return unreachable("discovery", err)
		}
		p := pendingAuth{State: RandomToken(), Nonce: RandomToken(), Verifier: oauth2.GenerateVerifier(),
			Next: LocalPath(c.QueryParam("next"), "/")}
		if err := a.cookies.set(c, AuthCookie, p, time.Now().Add(10*time.Minute)); err != nil {
			return err
		}
		opts := []oauth2.AuthCodeOption{oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)}
		if c.QueryParam("reauth") == "1" {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
		}
		return c.Redirect(http.StatusFound, conf.AuthCodeURL(p.State, opts...))
	}
}

// oidcCallback finishes the flow: the state must match the cookie's,
// the code is exchanged with the PKCE verifier, the ID token verified and
// its nonce checked; then the groups claim becomes roles. Every failure is
// a SignInError: a 400 for an answer that cannot sign anyone in (the user
// starts again), a 502 only for a provider that cannot be reached.
func oidcCallback(a *Auth) echo.HandlerFunc {
	refuse := func(msg string) error { return refuseSignIn(http.StatusBadRequest, msg, nil) }
	return func(c echo.Context) error {
		var p pendingAuth
		if err := a.cookies.get(c, AuthCookie, &p); err != nil {
			return refuse("the sign-in took too long or was started in another browser.")
		}
		a.cookies.clear(c, AuthCookie)
		if subtle.ConstantTimeCompare([]byte(c.QueryParam("state")), []byte(p.State)) != 1 {
			return refuse("the answer from the identity provider does not belong to this sign-in (state mismatch).")
		}
		if e := c.QueryParam("error"); e != "" {
			return echo.NewHTTPError(http.StatusForbidden, "The identity provider refused the sign-in ("+truncateText(e, 100)+").")
		}
		if c.QueryParam("code") == "" {
			return refuse("the identity provider's answer holds no sign-in code.")
		}
		provider, conf, err := a.oidc.get(c.Request().Context())
		if err != nil {
			return unreachable("discovery", err)
		}
		ctx := a.oidc.ctx(c.Request().Context())
		tok, err := conf.Exchange(ctx, c.QueryParam("code"), oauth2.VerifierOption(p.Verifier))
		if err != nil {
			return exchangeFailure(err)
		}
		raw, ok := tok.Extra("id_token").(string)
		if !ok {
			return refuseSignIn(http.StatusBadGateway, "the identity provider sent no identity token.", nil)
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: a.oidc.cfg.ClientID}).Verify(ctx, raw)
		if err != nil {
			return refuseSignIn(http.StatusBadRequest, "the identity token could not be verified.", err)
		}
		if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
			return refuse("the identity token was not issued for this sign-in (nonce mismatch).")
		}
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			return refuseSignIn(http.StatusBadRequest, "the identity token's claims could not be read.", err)
		}
		actor := a.actorFromClaims(claims, idt.Subject)
		if _, _, err := a.startSession(c, actor, authTime(claims)); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, LocalPath(p.Next, "/"))
	}
}

// actorFromClaims names the user by the configured claim, else their
// email address, else the subject. An email address counts only when the
// provider says it verified it (email_verified): an unverified one is
// whatever the account's holder typed in, and would let anyone sign in as
// whoever owns that address.
func (a *Auth) actorFromClaims(claims map[string]any, sub string) store.Actor {
	nameOf := func(claim string) string {
		s, _ := claims[claim].(string)
		if claim == "email" && !emailVerified(claims) {
			return ""
		}
		return s
	}
	name := nameOf(a.oidc.cfg.UsernameClaim)
	if name == "" {
		name = nameOf("email")
	}
	if name == "" {
		name = sub
	}
	var groups []string
	switch g := claims[a.oidc.cfg.GroupsClaim].(type) {
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok && s != "" {
				groups = append(groups, s)
			}
		}
	case string:
		for _, s := range strings.Split(g, ",") {
			if s = strings.TrimSpace(s); s != "" {
				groups = append(groups, s)
			}
		}
	}
	return store.Actor{Name: name, Roles: a.id.Roles.rolesFor(groups), Groups: groups}
}

// emailVerified reports whether the claims say the provider verified the
// email address: email_verified true (a JSON boolean, or the string
// "true" some providers send).
func emailVerified(claims map[string]any) bool {
	switch v := claims["email_verified"].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// authTime is the ID token's auth_time claim, when the provider last
// checked the user's credentials (it may be long before this sign-in,
// when the provider reused its own session); zero without the claim,
// which makes the sign-in time now.
func authTime(claims map[string]any) time.Time {
	if at, ok := claims["auth_time"].(float64); ok && at > 0 {
		return time.Unix(int64(at), 0)
	}
	return time.Time{}
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
