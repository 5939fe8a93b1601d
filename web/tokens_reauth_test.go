package web

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

// TestAdminTokenNeedsRecentSignIn: a browser session signed in more than
// ten minutes ago cannot create a token with the admin role; the page
// says so and offers a sign-in that comes back to the form. Tokens
// without the admin role need no fresh sign-in.
func TestAdminTokenNeedsRecentSignIn(t *testing.T) {
	t.Parallel()
	f := uiServeClock(t, auth.Identity{DevUsers: true})
	carol := f.client("", "")
	f.offset.Store(int64(-11 * time.Minute))
	devSignIn(t, carol, "carol")
	f.offset.Store(0)

	carol.get("/settings/tokens")
	r := carol.post("/settings/tokens", adminTokenForm())
	if r.status != http.StatusForbidden {
		t.Fatalf("admin token 11 minutes after sign-in: %d, want 403\n%s", r.status, pageExcerpt(r.body))
	}
	pageHas(t, r, `id="token-form-error"`, "signed in more than 10 minutes ago", `href="/signin?again=1&amp;next=%2Fsettings%2Ftokens"`,
		`value="admin bot"`)
	if secretRe.MatchString(r.body) {
		t.Fatal("a token was shown")
	}
	// Without the admin role the old sign-in is enough.
	createToken(t, carol, url.Values{"description": {"requests bot"}, "expiry": {"30d"}, "role": {"requester"}})

	// Signing in again (here: choosing the dev user again) comes back to the form.
	carol.get("/signin?again=1&next=%2Fsettings%2Ftokens")
	r = carol.follow("/dev/signin", url.Values{"user": {"carol"}, "next": {"/settings/tokens"}})
	pageHas(t, r, "<title>API tokens · rolegate</title>", `data-user="carol"`)
	_, secret := createToken(t, carol, adminTokenForm())
	if status, me := apiMe(t, f.uiFixture, secret); status != http.StatusOK || !slices.Contains(me.Roles, store.RoleAdmin) {
		t.Fatalf("the admin token: %d %+v", status, me)
	}
}

// TestAdminTokenNeverExpiresRefused: the form offers no "never" to admins,
// and the server refuses a token with the admin role that never expires.
func TestAdminTokenNeverExpiresRefused(t *testing.T) {
	f := uiProxyTest(t)
	carol, bob := f.client("carol", adminGroups), f.client("bob", approverGroups)
	pageLacks(t, carol.get("/settings/tokens"), `<option value="never"`)
	pageHas(t, bob.get("/settings/tokens"), `<option value="never"`)
	r := carol.post("/settings/tokens", url.Values{"description": {"admin bot"}, "expiry": {"never"}, "role": {"requester", "admin"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("never-expiring admin token: %d, want 422", r.status)
	}
	pageHas(t, r, `id="t-expiry-error"`, "A token with the admin role must expire")
	if tokens, err := f.db.ListTokens(uiCtx(t), ""); err != nil || len(tokens) != 0 {
		t.Fatalf("tokens: %+v, %v", tokens, err)
	}
	createToken(t, carol, url.Values{"description": {"admin bot"}, "expiry": {"90d"}, "role": {"admin"}})
}

// TestAdminTokenRecentSignInBehindProxy: behind the proxy the session
// starts when rolegate first sees the proxy's user in that browser;
// signing in again ends it and goes through the proxy's sign-out, which
// brings the browser back to the form.
func TestAdminTokenRecentSignInBehindProxy(t *testing.T) {
	t.Parallel()
	f := uiServeClock(t, uiProxyIdentity())
	carol := f.client("carol", adminGroups)
	f.offset.Store(int64(-11 * time.Minute))
	carol.get("/requests")
	f.offset.Store(0)
	carol.get("/settings/tokens")
	r := carol.post("/settings/tokens", adminTokenForm())
	if r.status != http.StatusForbidden {
		t.Fatalf("admin token 11 minutes after the session started: %d, want 403", r.status)
	}
	pageHas(t, r, "signed in more than 10 minutes ago", `action="/signout"`, `name="next" value="/settings/tokens"`)
	r = carol.post("/signout", url.Values{"next": {"/settings/tokens"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/oauth2/sign_out?rd=%2Fsettings%2Ftokens" {
		t.Fatalf("sign in again: %d %q", r.status, r.header.Get("Location"))
	}
	// The proxy signs carol in again and sends her back to the form.
	createToken(t, carol, adminTokenForm())
	tokens, err := f.db.ListTokens(uiCtx(t), "carol")
	if err != nil || len(tokens) != 1 || !tokens[0].Actor().Has(store.RoleAdmin) {
		t.Fatalf("carol's tokens: %+v, %v", tokens, err)
	}
}

// getFollowing gets path and follows redirects, across servers, to the
// final page.
func getFollowing(t *testing.T, c *uiClient, path string) uiResponse {
	t.Helper()
	u, err := url.Parse(c.f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		res, err := c.hc.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
			r := uiResponse{status: res.StatusCode, body: string(b), header: res.Header}
			if m := uiCSRFRe.FindStringSubmatch(r.body); m != nil {
				c.csrf = m[1]
			}
			return r
		}
		if u, err = u.Parse(res.Header.Get("Location")); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("GET %s: too many redirects", path)
	return uiResponse{}
}

// TestAdminTokenRecentSignInOIDC: with OIDC the sign-in time is the
// provider's auth_time, so a sign-in that only reused the provider's hour
// old session is not recent; signing in again asks the provider for
// prompt=login and then the admin token can be made.
func TestAdminTokenRecentSignInOIDC(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	f := uiServeOIDC(t, p, auth.RoleGroups{Admin: []string{"admins"}})
	p.signInAs("olga", "admins")
	p.mu.Lock()
	p.authTime = time.Now().Add(-time.Hour)
	p.mu.Unlock()

	olga := f.client("", "")
	pageHas(t, getFollowing(t, olga, "/auth/login?next=%2Fsettings%2Ftokens"), "<title>API tokens · rolegate</title>", `data-user="olga"`)
	r := olga.post("/settings/tokens", adminTokenForm())
	if r.status != http.StatusForbidden {
		t.Fatalf("admin token after a sign-in on an hour-old provider session: %d, want 403", r.status)
	}
	pageHas(t, r, "signed in more than 10 minutes ago", `href="/auth/login?reauth=1&amp;next=%2Fsettings%2Ftokens"`)
	pageHas(t, getFollowing(t, olga, "/auth/login?reauth=1&next=%2Fsettings%2Ftokens"), "<title>API tokens · rolegate</title>")
	if r := olga.post("/settings/tokens", adminTokenForm()); r.status != http.StatusCreated {
		t.Fatalf("admin token after signing in again: %d, want 201\n%s", r.status, pageExcerpt(r.body))
	}
}
