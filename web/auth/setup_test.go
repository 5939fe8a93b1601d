package auth

import (
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

	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
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
	// As the pages' error handler does: a failed sign-in's status and message.
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var sie *SignInError
		if errors.As(err, &sie) {
			c.String(sie.Status, sie.Message())
			return
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
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
	return send(t, c, req)
}

// send sends req from c and returns the status and body of the answer.
func send(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, b := iamlocaltest.Send(t, c, req)
	return resp.StatusCode, string(b)
}

// devSignIn posts the dev sign-in form for user from c, with the CSRF
// token of c's page; it returns the status and body.
func (s *echoServer) devSignIn(t *testing.T, c *http.Client, user string) (int, string) {
	t.Helper()
	_, tok := s.me(t, c, "")
	return s.call(t, c, http.MethodPost, "/dev/signin", "", tok, url.Values{"user": {user}})
}

// peerRequest is a GET of target as the server sees it from the network
// address peer, with headers.
func peerRequest(target, peer string, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = peer
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
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

// proxyTest runs t in parallel on a server of its own behind the test
// proxy.
func proxyTest(t *testing.T) *echoServer {
	t.Helper()
	t.Parallel()
	return newEchoServer(t, proxyIdentity())
}

func proxyIdentity() Identity {
	return Identity{
		Proxy:      &ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		Roles:      RoleGroups{Admin: []string{"admins"}},
		SessionKey: testKey,
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
