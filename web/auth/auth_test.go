package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

var testKey = []byte(strings.Repeat("k", 32))

// echoServer serves a (built by New from id, on a fresh database) with
// its sign-in routes, GET /me answering "actor csrf" and POST /do
// answering the actor a form is accepted for.
type echoServer struct {
	a   *Auth
	db  *store.DB
	srv *httptest.Server
}

func newEchoServer(t *testing.T, id Identity) *echoServer {
	t.Helper()
	db := storetest.New(t)
	return serveEcho(t, db, Deps{Identity: id, Sessions: db})
}

// serveEcho is newEchoServer on db with sign-in built from d.
func serveEcho(t *testing.T, db *store.DB, d Deps) *echoServer {
	t.Helper()
	a := New(d)
	e := echo.New()
	g := e.Group("", a.Identify)
	a.Routes(g)
	g.GET("/me", func(c echo.Context) error {
		v := ViewerOf(c.Request().Context())
		name := "-"
		if v.SignedIn {
			name = v.Actor.Name
		}
		return c.String(http.StatusOK, name+" "+v.CSRF)
	})
	g.POST("/do", func(c echo.Context) error {
		actor, ok := ActorOf(c)
		if !ok {
			return c.String(http.StatusOK, "-")
		}
		return c.String(http.StatusOK, actor.Name)
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &echoServer{a: a, db: db, srv: srv}
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// call sends method to path with the given proxy user (none when ""),
// CSRF token (header) and form; it returns the status and body.
func (s *echoServer) call(t *testing.T, c *http.Client, method, path, user, csrf string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.Header.Set("X-Forwarded-User", user)
		req.Header.Set("X-Forwarded-Groups", "admins")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// me returns who the server says c is, and the CSRF token of its page.
func (s *echoServer) me(t *testing.T, c *http.Client, user string) (string, string) {
	t.Helper()
	code, body := s.call(t, c, http.MethodGet, "/me", user, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /me: %d %s", code, body)
	}
	name, csrf, _ := strings.Cut(body, " ")
	return name, csrf
}

func proxyIdentity() Identity {
	return Identity{
		Proxy:      &ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		Roles:      RoleGroups{Admin: []string{"admins"}},
		SessionKey: testKey,
	}
}

func TestCSRFTokenIsBoundToSessionAndUser(t *testing.T) {
	t.Parallel()
	s := newEchoServer(t, proxyIdentity())
	alice, other := browser(t), browser(t)
	name, tok := s.me(t, alice, "alice")
	if name != "alice" || tok == "" {
		t.Fatalf("GET /me as alice = %q %q", name, tok)
	}
	if code, body := s.call(t, alice, http.MethodPost, "/do", "alice", tok, nil); code != http.StatusOK || body != "alice" {
		t.Fatalf("alice's own token: %d %q, want 200 alice", code, body)
	}
	// The same browser and cookie, but the proxy now names bob: alice's
	// token is not bob's.
	if code, body := s.call(t, alice, http.MethodPost, "/do", "bob", tok, nil); code != http.StatusForbidden {
		t.Fatalf("alice's token for bob: %d %q, want 403", code, body)
	}
	// Another browser of alice's, with a session of its own.
	s.me(t, other, "alice")
	if code, body := s.call(t, other, http.MethodPost, "/do", "alice", tok, nil); code != http.StatusForbidden {
		t.Fatalf("alice's token in another session: %d %q, want 403", code, body)
	}
	// No token, and a token in the form field rather than the header.
	if code, _ := s.call(t, alice, http.MethodPost, "/do", "alice", "", nil); code != http.StatusForbidden {
		t.Fatalf("no token: %d, want 403", code)
	}
	if code, body := s.call(t, alice, http.MethodPost, "/do", "alice", "", url.Values{"csrf": {tok}}); code != http.StatusOK || body != "alice" {
		t.Fatalf("token in the form: %d %q, want 200 alice", code, body)
	}
}

// sessionID opens the session cookie c's jar holds for srv.
func (s *echoServer) sessionID(t *testing.T, c *http.Client) session {
	t.Helper()
	u, _ := url.Parse(s.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			var sess session
			if err := s.a.cookies.codec.open(SessionCookie, ck.Value, &sess, time.Now()); err != nil {
				t.Fatal(err)
			}
			return sess
		}
	}
	t.Fatal("no session cookie")
	return session{}
}

func TestDevSignOutDeletesTheSession(t *testing.T) {
	t.Parallel()
	s := newEchoServer(t, Identity{DevUsers: true, SessionKey: testKey})
	b := browser(t)
	_, tok := s.me(t, b, "")
	if code, body := s.call(t, b, http.MethodPost, "/dev/signin", "", tok, url.Values{"user": {"bob"}}); code != http.StatusSeeOther {
		t.Fatalf("dev sign-in: %d %s", code, body)
	}
	name, tok := s.me(t, b, "")
	if name != "bob" {
		t.Fatalf("signed in as %q, want bob", name)
	}
	sess := s.sessionID(t, b)
	ctx := context.Background()
	row, err := s.db.LookupSession(ctx, sess.ID)
	if err != nil || row.User != "bob" {
		t.Fatalf("session row: %+v %v", row, err)
	}
	u, _ := url.Parse(s.srv.URL)
	stolen := b.Jar.Cookies(u)

	if code, body := s.call(t, b, http.MethodPost, "/signout", "", tok, nil); code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d %s", code, body)
	}
	if _, err := s.db.LookupSession(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session row after sign-out: %v, want ErrNotFound", err)
	}
	if name, _ := s.me(t, b, ""); name != "-" {
		t.Fatalf("after sign-out the browser is %q, want signed out", name)
	}
	// A copy of the cookie taken before sign-out identifies nobody.
	thief := browser(t)
	thief.Jar.SetCookies(u, stolen)
	if name, _ := s.me(t, thief, ""); name != "-" {
		t.Fatalf("the old cookie is %q, want signed out", name)
	}
}

func TestDevSignInRefusesUnknownUser(t *testing.T) {
	t.Parallel()
	s := newEchoServer(t, Identity{DevUsers: true, SessionKey: testKey})
	b := browser(t)
	_, tok := s.me(t, b, "")
	if code, body := s.call(t, b, http.MethodPost, "/dev/signin", "", tok, url.Values{"user": {"mallory"}}); code != http.StatusBadRequest {
		t.Fatalf("unknown dev user: %d %s, want 400", code, body)
	}
	if name, _ := s.me(t, b, ""); name != "-" {
		t.Fatalf("after a refused sign-in the browser is %q", name)
	}
}

func TestDevUserList(t *testing.T) {
	t.Parallel()
	want := map[string][]store.Role{
		"alice": {store.RoleRequester},
		"bob":   {store.RoleRequester, store.RoleApprover},
		"carol": {store.RoleRequester, store.RoleAdmin},
		"dave":  {store.RoleRequester, store.RoleApprover},
	}
	list := DevUserList()
	if len(list) != len(want) {
		t.Fatalf("%d dev users, want %d", len(list), len(want))
	}
	for _, u := range list {
		roles, ok := want[u.Name]
		if !ok {
			t.Fatalf("unexpected dev user %q", u.Name)
		}
		if strings.Join(roleStrs(u.Roles), ",") != strings.Join(roleStrs(roles), ",") {
			t.Errorf("%s holds %v, want %v", u.Name, u.Roles, roles)
		}
		if _, ok := devUser(u.Name); !ok {
			t.Errorf("devUser(%q) not found", u.Name)
		}
	}
	if u, _ := devUser("dave"); len(u.Groups) != 1 || u.Groups[0] != "data-owners" {
		t.Errorf("dave's groups = %v, want [data-owners]", u.Groups)
	}
	if _, ok := devUser("mallory"); ok {
		t.Error("devUser(mallory) found")
	}
}

func roleStrs(rs []store.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
