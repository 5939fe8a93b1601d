package auth

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

func TestActorFromClaims(t *testing.T) {
	t.Parallel()
	a := New(Deps{Identity: Identity{OIDC: &OIDCConfig{Issuer: "https://idp.invalid", ClientID: "c",
		RedirectURL: "https://x/auth/callback"}, Roles: RoleGroups{Admin: []string{"admins"}}, SessionKey: testKey}})
	custom := New(Deps{Identity: Identity{OIDC: &OIDCConfig{Issuer: "https://idp.invalid", ClientID: "c",
		RedirectURL: "https://x/auth/callback", UsernameClaim: "upn", GroupsClaim: "roles"}, SessionKey: testKey}})
	for _, tc := range []struct {
		a      *Auth
		claims map[string]any
		name   string
		groups []string
		roles  []store.Role
	}{
		{a, map[string]any{"preferred_username": "alice", "email": "a@x", "groups": []any{"admins", "", 7, "staff"}},
			"alice", []string{"admins", "staff"}, []store.Role{store.RoleRequester, store.RoleAdmin}},
		{a, map[string]any{"email": "a@x", "email_verified": true, "groups": " admins , ,staff"},
			"a@x", []string{"admins", "staff"}, []store.Role{store.RoleRequester, store.RoleAdmin}},
		{a, map[string]any{"preferred_username": 42}, "sub-1", nil, []store.Role{store.RoleRequester}},
		{custom, map[string]any{"preferred_username": "mallory", "upn": "bob", "groups": []any{"admins"}, "roles": []any{"x"}},
			"bob", []string{"x"}, []store.Role{store.RoleRequester}},
	} {
		got := tc.a.actorFromClaims(tc.claims, "sub-1")
		if got.Name != tc.name || !slices.Equal(got.Groups, tc.groups) || !slices.Equal(got.Roles, tc.roles) {
			t.Errorf("actorFromClaims(%v) = %+v, want %s %v %v", tc.claims, got, tc.name, tc.groups, tc.roles)
		}
	}
	if got := authTime(map[string]any{"auth_time": float64(1700000000)}); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("authTime = %v", got)
	}
	if got := authTime(map[string]any{"auth_time": "yesterday"}); !got.IsZero() {
		t.Errorf("authTime of a string = %v, want zero", got)
	}
}

// TestUnverifiedEmailNamesNobody: an email address the provider has not
// verified is whatever the account's holder typed in, so it never becomes
// the user name, whether as the fallback or as the configured claim:
// anyone could otherwise sign in as bob by giving their account his
// address, and read, revoke and approve as him. The subject names the
// user instead.
func TestUnverifiedEmailNamesNobody(t *testing.T) {
	t.Parallel()
	oidcWith := func(claim string) *Auth {
		return New(Deps{Identity: Identity{OIDC: &OIDCConfig{Issuer: "https://idp.invalid", ClientID: "c",
			RedirectURL: "https://x/auth/callback", UsernameClaim: claim}, SessionKey: testKey}})
	}
	fallback, byEmail := oidcWith(""), oidcWith("email")
	for _, tc := range []struct {
		a      *Auth
		claims map[string]any
		name   string
	}{
		{fallback, map[string]any{"email": "bob@x"}, "sub-1"},
		{fallback, map[string]any{"email": "bob@x", "email_verified": false}, "sub-1"},
		{fallback, map[string]any{"email": "bob@x", "email_verified": "false"}, "sub-1"},
		{fallback, map[string]any{"email": "bob@x", "email_verified": true}, "bob@x"},
		// Some providers (Cognito) send the flag as a string.
		{fallback, map[string]any{"email": "bob@x", "email_verified": "true"}, "bob@x"},
		{fallback, map[string]any{"preferred_username": "mallory", "email": "bob@x"}, "mallory"},
		{byEmail, map[string]any{"preferred_username": "mallory", "email": "bob@x"}, "sub-1"},
		{byEmail, map[string]any{"email": "bob@x", "email_verified": true}, "bob@x"},
	} {
		if got := tc.a.actorFromClaims(tc.claims, "sub-1"); got.Name != tc.name {
			t.Errorf("claim %q, claims %v: name %q, want %q", tc.a.oidc.cfg.UsernameClaim, tc.claims, got.Name, tc.name)
		}
	}
}

// TestOIDCCallbackRefusals: a callback without the sign-in's cookie, or
// with another state, is a 400 with a message and starts no session,
// before the provider is ever asked.
func TestOIDCCallbackRefusals(t *testing.T) {
	t.Parallel()
	s := newEchoServer(t, Identity{OIDC: &OIDCConfig{Issuer: "http://127.0.0.1:1/unreachable", ClientID: "c",
		RedirectURL: "https://x/auth/callback"}, SessionKey: testKey})
	pending, err := s.a.cookies.codec.seal(AuthCookie, pendingAuth{State: "right", Nonce: "n", Verifier: "v", Next: "/"}, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query, cookie, want string
	}{
		{"no cookie", "state=right&code=c", "", "took too long"},
		{"state mismatch", "state=wrong&code=c", pending, "state mismatch"},
		{"no state", "code=c", pending, "state mismatch"},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/auth/callback?"+tc.query, nil)
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: AuthCookie, Value: tc.cookie})
		}
		b := browser(t)
		if code, body := send(t, b, req); code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want 400 naming %q", tc.name, code, body, tc.want)
		}
		if name, _ := s.me(t, b, ""); name != "-" {
			t.Errorf("%s: signed in as %q", tc.name, name)
		}
	}
}
