package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/auth"
)

// behindProxy is a server that trusts proxy headers from 10.0.0.0/8
// only, with its database.
func behindProxy(t *testing.T) (*store.DB, http.Handler) {
	db := storetest.New(t)
	id := uiProxyIdentity()
	id.Proxy = &auth.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	return db, uiServe(t, db, id).srv.Config.Handler
}

func TestTrustedHeadersOnlyFromProxies(t *testing.T) {
	t.Parallel()
	_, e := behindProxy(t)
	ask := func(remote string, hdr map[string]string) *httptest.ResponseRecorder {
		return getFrom(e, "/requests", remote, hdr)
	}
	as := map[string]string{"X-Forwarded-User": "mallory", "X-Forwarded-Groups": "admins"}
	if rec := ask("10.1.2.3:4567", as); rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-user="mallory"`) {
		t.Fatalf("from the proxy: %d", rec.Code)
	}
	spoofed := map[string]string{"X-Forwarded-User": "mallory", "X-Forwarded-For": "10.1.2.3", "X-Real-Ip": "10.1.2.3"}
	for _, remote := range []string{"127.0.0.1:4567", "192.168.1.1:80", "[::1]:80"} {
		if rec := ask(remote, spoofed); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
			t.Errorf("headers from %s: %d, want a redirect to sign in", remote, rec.Code)
		}
	}
	// The email header stands in for an empty user header; groups become roles.
	rec := ask("10.0.0.9:1", map[string]string{"X-Forwarded-Email": "eve@example.com"})
	if !strings.Contains(rec.Body.String(), `data-user="eve@example.com"`) || !strings.Contains(rec.Body.String(), "(requester)") {
		t.Errorf("email header: %d", rec.Code)
	}
}

// TestProxyHeaderLines: oauth2-proxy adds one groups header line per group,
// and every line counts; a user named on two lines is nobody, since a
// proxy that strips what clients send names its user once, so the other
// line came from the client.
func TestProxyHeaderLines(t *testing.T) {
	t.Parallel()
	_, e := behindProxy(t)
	ask := func(path string, hdr http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = "10.1.2.3:4567"
		r.Header = hdr
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w
	}
	lines := http.Header{"X-Forwarded-User": {"bob"}, "X-Forwarded-Groups": {"staff", "approvers, data-owners"}}
	if rec := ask("/dashboard", lines); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-user="bob"`) {
		t.Errorf("bob in staff, approvers and data-owners on two lines: dashboard %d, want 200", rec.Code)
	}
	for name, hdr := range map[string]http.Header{
		"user":  {"X-Forwarded-User": {"mallory", "alice"}},
		"email": {"X-Forwarded-Email": {"mallory@example.com", "alice@example.com"}},
	} {
		if rec := ask("/requests", hdr); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
			t.Errorf("the %s header twice: %d (%s), want a redirect to sign in", name, rec.Code, rec.Header().Get("Location"))
		}
	}
}

// TestProxyUserNamesRefused: a name that cannot be a person's signs
// nobody in, with a 422 saying why: one holding a character that makes
// text display in another order than it is written (U+202E before "ecila"
// shows approvers "alice" on every page), a tab or another invisible
// character; and worker, rolegate, cli, drift-check or access-review (in
// any case), which would pass for rolegate in the audit trail, where
// those names record its own actions.
func TestProxyUserNamesRefused(t *testing.T) {
	t.Parallel()
	db, e := behindProxy(t)
	for name, want := range map[string]string{
		"\u202eecila": "user name", "mallory\tx": "user name", "eve\u2066": "user name",
		"worker": "is reserved", "Rolegate": "is reserved", "cli": "is reserved", "DRIFT-CHECK": "is reserved", "access-review": "is reserved",
	} {
		rec := getFrom(e, "/requests", "10.1.2.3:4567", map[string]string{"X-Forwarded-User": name})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("user %q: %d, want 422 saying %q\n%s", name, rec.Code, want, rec.Body.String())
		}
	}
	list, err := db.ListSessions(context.Background(), "", 10)
	if err != nil || len(list) != 0 {
		t.Errorf("sessions started: %+v %v", list, err)
	}
}

func TestDevUsersAndSessions(t *testing.T) {
	t.Parallel()
	id := auth.Identity{DevUsers: true, CookieSecure: true}
	f := uiSetup(t, id)
	c := f.client("", "")
	r := c.get("/signin")
	pageHas(t, r, "Sign in as alice", "Sign in as dave", "data-owners")
	cookie := r.header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Secure", "Path=/"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, "alice") {
		t.Errorf("the session cookie is readable: %q", cookie)
	}
	// The test server is plain HTTP: Secure cookies would not come back.
	f2 := uiSetup(t, auth.Identity{DevUsers: true})
	alice := f2.client("", "")
	alice.get("/signin")
	r = alice.follow("/dev/signin", url.Values{"user": {"alice"}, "next": {"/requests/new"}})
	pageHas(t, r, "<title>New request", `data-user="alice"`, "Signed in as alice.", `id="switch-user"`)
	if r := alice.get("/dashboard"); r.status != http.StatusForbidden {
		t.Errorf("alice's dashboard = %d", r.status)
	}
	// The switcher in the header changes user.
	r = alice.follow("/dev/signin", url.Values{"user": {"bob"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("home after switch = %d", r.status)
	}
	pageHas(t, alice.get("/dashboard"), `data-user="bob"`)
	if r := alice.post("/dev/signin", url.Values{"user": {"root"}}); r.status != http.StatusBadRequest {
		t.Errorf("unknown dev user = %d", r.status)
	}
	alice.get("/dashboard")
	r = alice.follow("/signout", nil)
	pageHas(t, r, "You are signed out.")
	if r := alice.get("/requests"); r.status != http.StatusSeeOther {
		t.Errorf("after sign-out /requests = %d", r.status)
	}
	// Without dev users there is no dev sign-in.
	p := uiSetup(t, uiProxyIdentity()).client("mallory", "")
	if r := p.post("/dev/signin", url.Values{"user": {"carol"}}); r.status != http.StatusNotFound {
		t.Errorf("dev sign-in behind the proxy = %d, want 404", r.status)
	}
}

func TestIdentityValidate(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	oidc := &auth.OIDCConfig{Issuer: "https://id.example", ClientID: "c", RedirectURL: "https://r.example/auth/callback"}
	proxy := &auth.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for name, tc := range map[string]struct {
		id   auth.Identity
		want string
	}{
		"dev":           {auth.Identity{DevUsers: true}, ""},
		"oidc":          {auth.Identity{OIDC: oidc, SessionKey: key}, ""},
		"dev and oidc":  {auth.Identity{DevUsers: true, OIDC: oidc, SessionKey: key}, "choose one"},
		"dev and proxy": {auth.Identity{DevUsers: true, Proxy: proxy, SessionKey: key}, "choose one"},
		"no key":        {auth.Identity{Proxy: proxy}, "session key: required"},
		"bad redirect":  {auth.Identity{OIDC: &auth.OIDCConfig{Issuer: "x", ClientID: "c", RedirectURL: "https://r/cb"}, SessionKey: key}, "must end in /auth/callback"},
		"no proxies":    {auth.Identity{Proxy: &auth.ProxyConfig{}, SessionKey: key}, "at least one proxy"},
	} {
		err := tc.id.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want %q", name, err, tc.want)
		}
	}
}
