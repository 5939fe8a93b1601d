package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// clockFixture serves the pages and the API on a database whose clock
// runs offset from the real one, so a sign-in can be made to lie in the
// past.
type clockFixture struct {
	*uiFixture
	offset *atomic.Int64
}

func uiServeClock(t *testing.T, id auth.Identity) clockFixture {
	t.Helper()
	offset := &atomic.Int64{}
	db := storetest.Open(t, storetest.URL(t), store.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	return clockFixture{uiFixture: uiServe(t, db, id), offset: offset}
}

// devSignIn signs c in as a dev user and returns the page it lands on.
func devSignIn(t *testing.T, c *uiClient, user string) uiResponse {
	t.Helper()
	c.get("/signin")
	c.follow("/dev/signin", url.Values{"user": {user}})
	r := c.get("/requests")
	if r.status != http.StatusOK {
		t.Fatalf("dev sign-in as %s: /requests = %d", user, r.status)
	}
	return r
}

// steal copies c's cookies and CSRF token into a new browser of f.
func steal(f *uiFixture, c *uiClient) *uiClient {
	u, _ := url.Parse(c.f.srv.URL)
	thief := f.client("", "")
	fu, _ := url.Parse(f.srv.URL)
	thief.hc.Jar.SetCookies(fu, c.hc.Jar.Cookies(u))
	thief.csrf = c.csrf
	return thief
}

func adminTokenForm() url.Values {
	return url.Values{"description": {"admin bot"}, "expiry": {"30d"}, "role": {"admin"}}
}

// TestSignOutEndsSession: a session cookie captured before sign-out is
// worthless after it; before sessions were kept on the server it still
// signed its holder in and could mint an admin API token.
func TestSignOutEndsSession(t *testing.T) {
	t.Parallel()
	f := uiSetup(t, auth.Identity{DevUsers: true})
	carol := f.client("", "")
	devSignIn(t, carol, "carol")
	pageHas(t, carol.get("/settings/tokens"), `data-user="carol"`)
	thief := steal(f, carol)
	pageHas(t, carol.follow("/signout", nil), "You are signed out.")

	if r := thief.do(http.MethodPost, "/settings/tokens", url.Values{"description": {"admin bot"}, "expiry": {"never"},
		"role": {"admin"}, "csrf": {thief.csrf}}); r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
		t.Errorf("token minted with a signed-out cookie: %d, want 401 or 403", r.status)
	}
	if r := thief.get("/settings/tokens"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/signin") {
		t.Errorf("signed-out cookie GET /settings/tokens = %d %s, want a redirect to sign in", r.status, r.header.Get("Location"))
	}
	if tokens, err := f.db.ListTokens(uiCtx(t), ""); err != nil || len(tokens) != 0 {
		t.Fatalf("tokens after sign-out: %+v, %v", tokens, err)
	}
}

// TestSignOutEndsSessionOnEveryInstance: two instances share the
// database, each remembering the sessions it read (as serve does); a
// sign-out on one ends the session there at once, and on the other as
// soon as the database tells it, well before what it remembered would
// time out.
func TestSignOutEndsSessionOnEveryInstance(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	id := auth.Identity{DevUsers: true, SessionKey: []byte(strings.Repeat("m", 32))}
	a, b := uiServe(t, watchingDB(t, dbURL), id), uiServe(t, watchingDB(t, dbURL), id)
	alice := a.client("", "")
	devSignIn(t, alice, "alice")
	onB := steal(b, alice)
	pageHas(t, onB.get("/requests"), `data-user="alice"`)
	thief := steal(a, alice)
	pageHas(t, thief.get("/requests"), `data-user="alice"`)
	alice.follow("/signout", nil)
	if r := thief.get("/requests"); r.status != http.StatusSeeOther {
		t.Errorf("the instance signed out on, at once: %d, want a redirect to sign in", r.status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r := onB.get("/requests"); r.status != http.StatusSeeOther; r = onB.get("/requests") {
		if r.status != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("the other instance after sign-out: %d, want a redirect to sign in within 10s", r.status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// watchingDB opens the database at url with its session watcher running
// until the test ends, once it hears changes.
func watchingDB(t testing.TB, dbURL string) *store.DB {
	t.Helper()
	db := storetest.Open(t, dbURL, store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); db.WatchSessions(ctx, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-done })
	for start := time.Now(); !db.SessionsRemembered(); time.Sleep(2 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the session watcher did not start hearing changes within 10s")
		}
	}
	return db
}

// TestCSRFBoundToProxyIdentity: behind the proxy, a form posted with
// mallory's session cookie and CSRF token while the proxy names eve (a
// cookie planted in eve's browser, a form on mallory's site) must not act
// as eve. It used to be recorded as eve's approval.
func TestCSRFBoundToProxyIdentity(t *testing.T) {
	f := uiProxyTest(t)
	req := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	c := f.client("mallory", "")
	c.get("/requests")
	malloryToken := c.csrf
	c.user, c.groups = "eve", approverGroups
	r := c.do(http.MethodPost, fmt.Sprintf("/requests/%d/decide", req.ID),
		url.Values{"version": {"1"}, "decision": {"approve"}, "csrf": {malloryToken}})
	if r.status != http.StatusForbidden {
		t.Errorf("mallory's cookie and token with eve's identity: %d, want 403", r.status)
	}
	evs, err := f.db.ListEvents(uiCtx(t), store.EventFilter{RequestID: req.ID, Actor: "eve"})
	if err != nil || len(evs) != 0 {
		t.Fatalf("eve's events after the forged decision: %+v, %v", evs, err)
	}
	// Eve's own page gives her a token of her own, which works.
	pageHas(t, c.get("/dashboard"), `data-user="eve"`)
	if c.csrf == malloryToken {
		t.Fatal("eve was given mallory's CSRF token")
	}
	if r := c.post(fmt.Sprintf("/requests/%d/decide", req.ID), url.Values{"version": {"1"}, "decision": {"approve"}}); r.status != http.StatusSeeOther {
		t.Errorf("eve's own decision: %d, want 303", r.status)
	}
}

// TestSecureCookiesUseHostPrefix: with Secure cookies every cookie is a
// __Host- cookie: Secure, Path=/, no Domain, so a sibling subdomain
// cannot plant one.
func TestSecureCookiesUseHostPrefix(t *testing.T) {
	t.Parallel()
	f := uiSetup(t, auth.Identity{DevUsers: true, CookieSecure: true})
	c := f.client("", "")
	check := func(what string, h http.Header, want ...string) {
		t.Helper()
		got := map[string]bool{}
		for _, ck := range (&http.Response{Header: h}).Cookies() {
			got[ck.Name] = true
			if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("%s: cookie %s (Secure=%v Path=%q Domain=%q) is not a __Host- cookie", what, ck.Name, ck.Secure, ck.Path, ck.Domain)
			}
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("%s: no cookie %s set; got %v", what, w, got)
			}
		}
	}
	r := c.get("/signin")
	check("GET /signin", r.header, "__Host-rolegate_session")
	// The test server is plain HTTP, so the browser would not send Secure
	// cookies back: send them by hand.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/dev/signin", strings.NewReader(url.Values{"user": {"carol"}, "csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	res, _ := roundTrip(t, c.hc, req)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("dev sign-in with __Host- cookies: %d", res.StatusCode)
	}
	check("POST /dev/signin", res.Header, "__Host-rolegate_session", "__Host-rolegate_flash")

	oidc := auth.Identity{OIDC: &auth.OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "c", RedirectURL: "https://rolegate.example/auth/callback"},
		SessionKey: []byte(strings.Repeat("o", 32)), CookieSecure: true}
	rec := httptest.NewRecorder()
	New(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Auth: auth.New(auth.Deps{Identity: oidc})}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/signin", nil))
	check("GET /signin (OIDC)", rec.Header(), "__Host-rolegate_session")
}

// TestAdminEndsUserSessions: an admin ends every session of a user from
// the sessions page; the user's browsers, on every instance, are signed
// out at once. Others may end only their own.
func TestAdminEndsUserSessions(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	id := auth.Identity{DevUsers: true, SessionKey: []byte(strings.Repeat("e", 32))}
	a, b := uiServe(t, db, id), uiServe(t, db, id)
	alice1, alice2, bob, carol := a.client("", ""), b.client("", ""), a.client("", ""), b.client("", "")
	devSignIn(t, alice1, "alice")
	devSignIn(t, alice2, "alice")
	devSignIn(t, bob, "bob")
	devSignIn(t, carol, "carol")

	// Alice sees her own two sessions, this browser marked; not bob's.
	r := alice1.get("/settings/sessions")
	pageHas(t, r, "<title>Sessions · rolegate</title>", "this browser", "Sign out everywhere")
	textHas(t, r, "Browsers signed in to rolegate as you. Ending a user's sessions")
	if n := strings.Count(r.body, `data-user="alice"`) - 1; n != 2 { // one is the header's
		t.Errorf("alice sees %d of her sessions, want 2", n)
	}
	pageLacks(t, r, `data-user="bob"`, `id="s-user"`)
	if r := alice1.post("/settings/sessions/end", url.Values{"user": {"bob"}}); r.status != http.StatusForbidden {
		t.Errorf("alice ends bob's sessions: %d, want 403", r.status)
	}

	// Carol, an admin, sees everyone's and ends alice's.
	r = carol.get("/settings/sessions")
	pageHas(t, r, `data-user="bob"`, `id="s-user"`, "End alice's sessions")
	textHas(t, r, "Browsers signed in to rolegate. Ending a user's sessions")
	if r := carol.post("/settings/sessions/end", url.Values{"user": {""}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("no user named: %d, want 422", r.status)
	} else {
		pageHas(t, r, `id="s-user-error"`, "Name the user")
	}
	r = carol.follow("/settings/sessions/end", url.Values{"user": {"alice"}})
	pageHas(t, r, "Ended 2 sessions of alice")
	for i, c := range []*uiClient{alice1, alice2} {
		if r := c.get("/requests"); r.status != http.StatusSeeOther {
			t.Errorf("alice's browser %d after her sessions ended: %d, want a redirect to sign in", i+1, r.status)
		}
	}
	if r := bob.get("/requests"); r.status != http.StatusOK {
		t.Errorf("bob's session ended too: %d", r.status)
	}
	evs, err := db.ListEvents(uiCtx(t), store.EventFilter{Kind: store.EventSessionsEnded})
	if err != nil || len(evs) != 1 || evs[0].Actor != "carol" || evs[0].Data["user"] != "alice" {
		t.Fatalf("audit: %+v, %v", evs, err)
	}

	// Bob signs himself out everywhere.
	pageHas(t, bob.follow("/settings/sessions/end", url.Values{"user": {"bob"}}), "Signed out everywhere (1 session).")
	if r := bob.get("/requests"); r.status != http.StatusSeeOther {
		t.Errorf("bob after signing out everywhere: %d", r.status)
	}
}

// TestTokenRevokedElsewhereIsForgotten: an API token revoked on one
// instance (or the command line) stops working on another as soon as the
// change is heard, not when its cached check would have run out: here the
// cache's clock stands still, so only the notification can end it (the
// rate limiter's too, hence a burst no polling reaches).
func TestTokenRevokedElsewhereIsForgotten(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	a, b := watchingDB(t, dbURL), watchingDB(t, dbURL)
	frozen := time.Now()
	srv := httptest.NewServer(newServer(testDeps(b), uiProxyIdentity(), b, api.Limits{Now: func() time.Time { return frozen }, Burst: 100000}))
	t.Cleanup(srv.Close)
	tok, secret, err := a.CreateToken(uiCtx(t), store.NewToken{User: "bot", Roles: []store.Role{store.RoleRequester}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	me := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := me(); code != http.StatusOK {
		t.Fatalf("GET /api/v1/me = %d before revoking", code)
	}
	if _, err := a.RevokeToken(uiCtx(t), tok.ID, "", "carol"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for code := me(); code != http.StatusUnauthorized; code = me() {
		if code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("GET /api/v1/me with a token revoked elsewhere = %d, want 401 within 10s", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
