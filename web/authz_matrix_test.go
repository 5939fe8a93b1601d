package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// The kinds of caller of the authorisation matrix. Browsers are known by
// the trusted proxy's headers; the API by bearer tokens.
const (
	zOut       = "signed out"      // no sign-in, no token
	zMalformed = "malformed token" // API only
	zExpired   = "expired token"   // API only: alice's, expired
	zRevoked   = "revoked token"   // API only: alice's, revoked
	zNoRole    = "no role"         // HTML only: signed in, in no group that maps to a role
	zOwner     = "owner"           // alice, requester of every fixture
	zOther     = "other requester" // erin
	zApprover  = "approver"        // bob
	zAdmin     = "admin"           // carol
	zDataOwner = "data owner"      // dave: a requester in the data-owners group the fixtures' bucket is routed to
)

var (
	htmlCallers = []string{zOut, zNoRole, zOwner, zOther, zApprover, zAdmin, zDataOwner}
	apiCallers  = []string{zOut, zMalformed, zExpired, zRevoked, zOwner, zOther, zApprover, zAdmin, zDataOwner}
	// withRole are the callers holding a role, in either half.
	withRole = []string{zOwner, zOther, zApprover, zAdmin, zDataOwner}
	// anyone marks routes open to every caller.
	anyone = []string{"*"}
)

// secEnv is one server with the pages (behind a trusted proxy) and the
// API on a database whose fixtures' bucket is routed to data owners, with
// a browser and a token for every kind of caller; plus servers in dev-user
// and OIDC mode, for the sign-in routes only those modes mount.
type secEnv struct {
	t       *testing.T
	id      auth.Identity
	db      *store.DB
	ui      *uiFixture
	api     *apiEnv
	clients map[string]*uiClient
	seq     atomic.Int64

	main, dev, oidc *echo.Echo
	devSrv, oidcSrv *httptest.Server
}

func secIdentity() auth.Identity {
	return auth.Identity{
		Proxy:      &auth.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		Roles:      auth.RoleGroups{Requester: []string{"staff"}, Approver: []string{"approvers"}, Admin: []string{"admins"}},
		SessionKey: []byte(strings.Repeat("s", 32)),
	}
}

func secSetup(t *testing.T, id auth.Identity) *secEnv {
	t.Helper()
	t.Parallel()
	ae := newAPIEnv(t, store.Options{Rules: store.ApprovalRules{Routes: []store.Route{{Pattern: "owned-*", Group: "data-owners"}}}})
	env := &secEnv{t: t, id: id, db: ae.db, api: ae}
	deps := func() Deps {
		d := testDeps(env.db)
		d.MetricsToken = "matrix-metrics-token"
		return d
	}
	env.main = newServer(deps(), id, env.db, api.Limits{Rate: 1000, Burst: 1000})
	ae.srv = httptest.NewServer(env.main)
	t.Cleanup(ae.srv.Close)
	env.ui = &uiFixture{t: t, db: env.db, srv: ae.srv}

	// The sign-in servers serve no pages beyond the start page.
	signInOnly := func(id auth.Identity) *echo.Echo {
		d := deps()
		d.Store = nil
		d.Auth = auth.New(auth.Deps{Identity: id, Logger: d.Logger, Sessions: env.db})
		return New(d)
	}
	env.dev = signInOnly(auth.Identity{DevUsers: true, CookieSecure: id.CookieSecure})
	env.devSrv = httptest.NewServer(env.dev)
	t.Cleanup(env.devSrv.Close)
	p := newTestProvider(t)
	env.oidcSrv = serveSelf(t, func(base string) http.Handler {
		oidc := p.identity(base, auth.RoleGroups{})
		oidc.CookieSecure = id.CookieSecure
		env.oidc = signInOnly(oidc)
		return env.oidc
	})

	env.clients = map[string]*uiClient{
		zOut:       env.ui.client("", ""),
		zNoRole:    env.ui.client("mallory", "contractors"),
		zOwner:     env.ui.client("alice", "staff"),
		zOther:     env.ui.client("erin", "staff"),
		zApprover:  env.ui.client("bob", "staff,approvers"),
		zAdmin:     env.ui.client("carol", "staff,admins"),
		zDataOwner: env.ui.client("dave", "staff,data-owners"),
	}
	ae.addToken(zOwner, store.NewToken{User: "alice", Roles: []store.Role{store.RoleRequester}})
	ae.addToken(zOther, store.NewToken{User: "erin", Roles: []store.Role{store.RoleRequester}})
	ae.addToken(zApprover, store.NewToken{User: "bob", Roles: []store.Role{store.RoleRequester, store.RoleApprover}})
	ae.addToken(zAdmin, store.NewToken{User: "carol", Roles: []store.Role{store.RoleRequester, store.RoleAdmin}})
	ae.addToken(zDataOwner, store.NewToken{User: "dave", Roles: []store.Role{store.RoleRequester}, Groups: []string{"data-owners"}})
	ae.addDeadTokens(zRevoked, zExpired)
	ae.tokens[zMalformed] = "rgt_1_not-a-secret"
	return env
}

// fixture returns a new request of alice's for a bucket routed to the data
// owners, in state "pending", "active" or "failed"; for "token", only the
// ID is set: that of a new API token of alice's.
func (env *secEnv) fixture(state string) store.Request {
	t := env.t
	t.Helper()
	ctx := ctxT(t)
	if state == "token" {
		tok, _, err := env.db.CreateToken(ctx, store.NewToken{User: "alice", Description: "fixture", CreatedBy: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return store.Request{ID: tok.ID}
	}
	name := fmt.Sprintf("authz-%s-%d", state, env.seq.Add(1))
	r := uiCreate(t, env.db, store.NewRequest{Spec: provision.RoleSpec{Name: name, Description: "reads reports",
		Buckets: []provision.BucketScope{{Bucket: "owned-reports", Prefix: "daily/", Access: provision.AccessRead}}},
		Justification: "the nightly report job reads it", Requester: "alice"})
	if state == "pending" {
		return r
	}
	var err error
	for _, a := range []store.Actor{{Name: "bob", Roles: []store.Role{store.RoleApprover}},
		{Name: "dave", Roles: []store.Role{store.RoleRequester}, Groups: []string{"data-owners"}}} {
		if r, err = env.db.Decide(ctx, a, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
			t.Fatalf("approve fixture as %s: %v", a.Name, err)
		}
	}
	if r.Status != store.StatusApproved {
		t.Fatalf("fixture is %s after both approvals", r.Status)
	}
	switch state {
	case "active":
		provisionFromStore(t, env.db, r.ID)
	case "failed":
		if _, err := env.db.BeginProvisioning(ctx, r.ID, r.Version); err != nil {
			t.Fatal(err)
		}
		if err := env.db.FailProvisioning(ctx, r.ID, r.Version, "AccessDenied: test"); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown fixture state %q", state)
	}
	r, err = env.db.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// routeKeys lists the routes of e as "METHOD /path", leaving out echo's
// own not-found handlers.
func routeKeys(e *echo.Echo) []string {
	var out []string
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// allRoutes is every route any identity mode mounts, each with the
// server that mounts it.
func (env *secEnv) allRoutes() map[string]string {
	out := map[string]string{}
	for _, s := range []struct {
		e   *echo.Echo
		url string
	}{{env.oidc, env.oidcSrv.URL}, {env.dev, env.devSrv.URL}, {env.main, env.api.srv.URL}} {
		for _, k := range routeKeys(s.e) {
			out[k] = s.url
		}
	}
	return out
}

// authzCase is one route's row: which fixture its :id names (fresh ones
// are made for every caller, so one call does not spoil the next), the
// callers allowed, and the form or body to send.
type authzCase struct {
	route   string
	fixture string // "", "pending", "active", "failed" or "token"
	fresh   bool
	allowed []string
	form    func(r store.Request) url.Values
	body    func(r store.Request) any
}

func authzTable() []authzCase {
	formOf := func(name string) url.Values {
		return url.Values{"name": {name}, "description": {"reads reports"}, "justification": {"the nightly job reads it"},
			"bucket": {"owned-reports"}, "prefix": {"weekly/"}, "access": {"read"}}
	}
	var n atomic.Int64
	newForm := func(store.Request) url.Values { return formOf(fmt.Sprintf("authz-new-%d", n.Add(1))) }
	changeForm := func(r store.Request) url.Values { return formOf(r.Spec.Name) }
	decide := func(r store.Request) url.Values {
		return url.Values{"version": {fmt.Sprint(r.Version)}, "decision": {"approve"}, "comment": {"ok"}}
	}
	newBody := func(store.Request) any { return spec(fmt.Sprintf("authz-api-%d", n.Add(1))) }
	changeBody := func(r store.Request) any {
		b := spec(r.Spec.Name)
		b["buckets"] = []map[string]any{{"bucket": "owned-reports", "prefix": "weekly/", "access": "read"}}
		return b
	}
	comment := func(store.Request) any { return map[string]any{"comment": "ok"} }
	deciders := []string{zApprover, zAdmin, zDataOwner}
	approvers := []string{zApprover, zAdmin}
	viewers := []string{zOwner, zApprover, zAdmin, zDataOwner}
	return []authzCase{
		// Infrastructure and sign-in: open to all.
		{route: "GET /healthz", allowed: anyone},
		{route: "GET /readyz", allowed: anyone},
		// Metrics ask for their own token, which no user holds
		// (metrics_auth_test.go checks it and the loopback default).
		{route: "GET /metrics", allowed: []string{}},
		{route: "GET /static/*", allowed: anyone},
		{route: "GET /", allowed: anyone},
		{route: "GET /signin", allowed: anyone},
		{route: "POST /signout", allowed: anyone},
		{route: "POST /dev/signin", allowed: anyone, form: func(store.Request) url.Values { return url.Values{"user": {"alice"}} }},
		{route: "GET /auth/login", allowed: anyone},
		{route: "GET /auth/callback", allowed: anyone}, // refused with 400 without the sign-in's state, which is not an authz matter

		// Pages.
		{route: "GET /requests", allowed: withRole},
		{route: "GET /requests/new", allowed: withRole},
		{route: "POST /requests/new", allowed: withRole, form: newForm},
		{route: "POST /requests/preview", allowed: withRole, form: newForm},
		{route: "GET /requests/:id", fixture: "pending", allowed: viewers},
		{route: "GET /requests/:id/terraform", fixture: "pending", allowed: viewers},
		{route: "POST /requests/:id/decide", fixture: "pending", fresh: true, allowed: deciders, form: decide},
		{route: "POST /requests/:id/cancel", fixture: "pending", fresh: true, allowed: []string{zOwner}},
		{route: "POST /requests/:id/revoke", fixture: "active", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "POST /requests/:id/retry", fixture: "failed", fresh: true, allowed: []string{zAdmin}},
		{route: "GET /requests/:id/change", fixture: "active", allowed: []string{zOwner}},
		{route: "POST /requests/:id/change", fixture: "active", fresh: true, allowed: []string{zOwner}, form: changeForm},
		{route: "GET /dashboard", allowed: []string{zApprover, zAdmin, zDataOwner}},
		{route: "GET /roles", allowed: withRole},
		// Reviews are off here: the owner and admins meet 409, everyone
		// else is refused before the review's state is looked at.
		{route: "GET /reviews", allowed: withRole},
		{route: "POST /reviews/:id/confirm", fixture: "active", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "POST /reviews/:id/let-go", fixture: "active", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "GET /audit", allowed: approvers},
		{route: "GET /settings/tokens", allowed: withRole},
		{route: "POST /settings/tokens", allowed: withRole, form: func(store.Request) url.Values {
			return url.Values{"description": {"deploy pipeline"}, "expiry": {"30d"}, "role": {"requester"}}
		}},
		{route: "POST /settings/tokens/:id/revoke", fixture: "token", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "GET /settings/sessions", allowed: withRole},
		// Ending alice's sessions: hers to end, or an admin's.
		{route: "POST /settings/sessions/end", allowed: []string{zOwner, zAdmin}, form: func(store.Request) url.Values {
			return url.Values{"user": {"alice"}}
		}},

		// The API. Its document and reference page are public; every
		// operation needs a live token. Reading a request (and its
		// Terraform and history) follows one rule in every state: its
		// requester, approvers, admins and the data owners it is routed to.
		{route: "GET /api/openapi.json", allowed: anyone},
		{route: "GET /api/docs", allowed: anyone},
		{route: "GET /api/v1/me", allowed: withRole},
		{route: "POST /api/v1/preview", allowed: withRole, body: newBody},
		{route: "GET /api/v1/requests", allowed: withRole},
		{route: "POST /api/v1/requests", allowed: withRole, body: newBody},
		{route: "GET /api/v1/requests/:id", fixture: "pending", allowed: viewers},
		{route: "POST /api/v1/requests/:id/changes", fixture: "active", fresh: true, allowed: []string{zOwner}, body: changeBody},
		{route: "POST /api/v1/requests/:id/approve", fixture: "pending", fresh: true, allowed: deciders, body: comment},
		{route: "POST /api/v1/requests/:id/reject", fixture: "pending", fresh: true, allowed: deciders, body: comment},
		{route: "POST /api/v1/requests/:id/cancel", fixture: "pending", fresh: true, allowed: []string{zOwner}},
		{route: "POST /api/v1/requests/:id/revoke", fixture: "active", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "POST /api/v1/requests/:id/retry", fixture: "failed", fresh: true, allowed: []string{zAdmin}},
		{route: "GET /api/v1/requests/:id/terraform", fixture: "active", allowed: viewers},
		{route: "GET /api/v1/requests/:id/versions/:version/terraform", fixture: "active", allowed: viewers},
		{route: "GET /api/v1/roles", allowed: withRole},
		{route: "GET /api/v1/reviews", allowed: withRole}, // requesters: their own roles only
		{route: "POST /api/v1/reviews/:id/confirm", fixture: "active", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "POST /api/v1/reviews/:id/let-go", fixture: "active", fresh: true, allowed: []string{zOwner, zAdmin}},
		{route: "GET /api/v1/events", allowed: approvers}, // requesters only with request_id= or actor=themselves
	}
}

// denied reports whether a response refuses the caller: 401, 403, a
// browser sent to sign in, or a 404 for a fixture that exists (someone
// else's token is "not found" to everybody else).
func denied(status int, location string, fixture bool) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusSeeOther && strings.HasPrefix(location, "/signin") ||
		status == http.StatusNotFound && fixture
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// concrete fills a route template's parameters.
func concrete(route string, r store.Request) string {
	_, path, _ := strings.Cut(route, " ")
	return strings.NewReplacer(":id", fmt.Sprint(r.ID), ":version", fmt.Sprint(r.Version), "*", "app.css").Replace(path)
}

// call makes one request as who and returns the status and Location.
func (env *secEnv) call(base, who string, c authzCase, r store.Request) (int, string) {
	method, _, _ := strings.Cut(c.route, " ")
	path := concrete(c.route, r)
	if strings.HasPrefix(path, "/api/") {
		var body any
		if c.body != nil {
			body = c.body(r)
		}
		res := env.api.do(req{method: method, path: path, as: who, body: body})
		return res.StatusCode, res.Header.Get("Location")
	}
	cl := env.clients[who]
	if base != env.api.srv.URL {
		// The dev and OIDC servers know users by their own sessions:
		// every caller there is a browser that has not signed in yet.
		cl = (&uiFixture{t: env.t, db: env.db, srv: &httptest.Server{URL: base}}).client(cl.user, cl.groups)
	}
	if method == http.MethodGet {
		res := cl.get(path)
		return res.status, res.header.Get("Location")
	}
	var form url.Values
	if c.form != nil {
		form = c.form(r)
	} else {
		form = url.Values{}
	}
	form.Set("csrf", env.csrfFor(cl, base))
	res := cl.do(method, path, form)
	return res.status, res.header.Get("Location")
}

// csrfFor returns a CSRF token good for cl's session. Behind the proxy
// the token is bound to the session and the user the proxy names, so it
// comes from a page fetched as that caller (no page shows a signed-out
// browser a form: its token is computed as the server does); a dev-mode
// browser finds one on the sign-in page. The CSRF check itself has its
// own tests.
func (env *secEnv) csrfFor(cl *uiClient, base string) string {
	env.t.Helper()
	if base != env.api.srv.URL {
		cl.get("/signin")
		return cl.csrf
	}
	cl.csrf = ""
	cl.get("/requests")
	if cl.csrf == "" && cl.user == "" {
		cl.csrf = signedOutCSRF(cl, env.id)
	}
	if cl.csrf == "" {
		env.t.Fatal("no CSRF token on /requests")
	}
	return cl.csrf
}

// signedOutCSRF is the CSRF token of cl's signed-out session under id,
// computed from its session cookie as the server does; "" without one.
func signedOutCSRF(cl *uiClient, id auth.Identity) string {
	u, _ := url.Parse(cl.f.srv.URL)
	return auth.SignedOutCSRF(id, cl.hc.Jar.Cookies(u))
}

// TestAuthorisationMatrix calls every route of the router as every kind
// of caller and compares who got through (not 401, 403 or sent to sign in)
// with the table. A route without a row fails, and so does a row without
// a route; no call may end in a 5xx.
func TestAuthorisationMatrix(t *testing.T) {
	env := secSetup(t, secIdentity())
	routes := env.allRoutes()
	table := authzTable()
	rows := map[string]bool{}
	for _, c := range table {
		if rows[c.route] {
			t.Errorf("route %s has two rows", c.route)
		}
		rows[c.route] = true
		if _, ok := routes[c.route]; !ok {
			t.Errorf("row %s names no route of the router", c.route)
		}
	}
	var missing []string
	for k := range routes {
		if !rows[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("routes without a row in the authorisation table (add one saying who may call them):\n%s", strings.Join(missing, "\n"))
	}
	if len(routes) < 40 {
		t.Fatalf("only %d routes: is the API mounted?", len(routes))
	}

	shared := map[string]store.Request{}
	calls := 0
	for _, c := range table {
		base := routes[c.route]
		callers := htmlCallers
		if strings.HasPrefix(c.route, "GET /api/") || strings.HasPrefix(c.route, "POST /api/") {
			callers = apiCallers
		}
		var got []string
		for _, who := range callers {
			var r store.Request
			switch {
			case c.fixture == "":
			case c.fresh:
				r = env.fixture(c.fixture)
			default:
				if _, ok := shared[c.fixture]; !ok {
					shared[c.fixture] = env.fixture(c.fixture)
				}
				r = shared[c.fixture]
			}
			status, loc := env.call(base, who, c, r)
			calls++
			if status >= 500 {
				t.Errorf("%s as %s: %d", c.route, who, status)
			}
			if !denied(status, loc, c.fixture != "") {
				got = append(got, who)
			}
			slices.Sort(got)
			if strings.HasPrefix(c.route, "POST ") && !strings.Contains(c.route, "/api/") && who == zOut &&
				!slices.Equal(c.allowed, anyone) && status != http.StatusUnauthorized {
				t.Errorf("%s signed out: %d, want 401", c.route, status)
			}
		}
		want := c.allowed
		if slices.Equal(want, anyone) {
			want = callers
		}
		if !slices.Equal(got, sorted(want)) {
			t.Errorf("%s: allowed %v, want %v", c.route, got, want)
		}
	}
	t.Logf("%d routes, %d calls", len(routes), calls)
}
