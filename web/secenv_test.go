package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
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

// secSetup is secSetupWith the matrix's identity.
func secSetup(t *testing.T) *secEnv {
	t.Helper()
	return secSetupWith(t, secIdentity())
}

// secSetupWith starts env in parallel, signing browsers in under id.
func secSetupWith(t *testing.T, id auth.Identity) *secEnv {
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
	slices.Sort(out)
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
