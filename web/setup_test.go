package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// uiFixture is a running web server on a test database of its own.
type uiFixture struct {
	t   testing.TB
	db  *store.DB
	srv *httptest.Server
	ctx context.Context // for calls to the store; ends with the test
}

// proxyIdentity trusts the loopback proxy: test clients name their user
// and groups in headers, so any caller can be made up.
func uiProxyIdentity() auth.Identity {
	return auth.Identity{
		Proxy:      &auth.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		Roles:      auth.RoleGroups{Approver: []string{"approvers"}, Admin: []string{"admins"}},
		SessionKey: []byte(strings.Repeat("k", 32)),
	}
}

func uiSetup(t testing.TB, id auth.Identity) *uiFixture {
	t.Helper()
	db := storetest.New(t)
	return uiServe(t, db, id)
}

// uiProxyTest runs t in parallel on a server of its own behind the test
// proxy: the start of most page tests.
func uiProxyTest(t *testing.T) *uiFixture {
	t.Helper()
	t.Parallel()
	return uiSetup(t, uiProxyIdentity())
}

// uiServe serves the pages and the API of db under id: several of these
// on one database are several instances of rolegate.
func uiServe(t testing.TB, db *store.DB, id auth.Identity) *uiFixture {
	t.Helper()
	srv := httptest.NewServer(newServer(testDeps(db), id, db, api.Limits{}))
	t.Cleanup(srv.Close)
	return &uiFixture{t: t, db: db, srv: srv, ctx: uiCtx(t)}
}

func uiCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testDeps are the pages' dependencies on db, with a metrics registry of
// their own and no logging.
func testDeps(db *store.DB) Deps {
	return Deps{Logger: slog.New(slog.DiscardHandler), Ready: db, Registry: prometheus.NewRegistry(), Version: "test",
		Store: db, Settings: db.Settings()}
}

// newServer builds the server as cmd/rolegate does: sign-in under id, the
// pages on d and the JSON API on db mounted beside them, the pages and
// the API sharing the cache of checked API tokens; lim tunes the API.
func newServer(d Deps, id auth.Identity, db *store.DB, lim api.Limits) *echo.Echo {
	now := lim.Now
	if now == nil {
		now = time.Now
	}
	tokens := api.NewTokenCache(now)
	d.Auth = auth.New(auth.Deps{Identity: id, Logger: d.Logger, Sessions: db,
		Rules: db.Rules, NarrowTokens: db.NarrowTokens, ForgetTokens: tokens.Forget})
	return New(d, api.Deps{Logger: d.Logger, Store: db, Limits: lim, Tokens: tokens}.Mount)
}

// uiClient is one browser: its cookies, the CSRF token of the last page and,
// behind the test proxy, the user and groups it sends.
type uiClient struct {
	f      *uiFixture
	hc     *http.Client
	user   string
	groups string
	csrf   string
}

func (f *uiFixture) client(user, groups string) *uiClient {
	jar, _ := cookiejar.New(nil)
	return &uiClient{f: f, user: user, groups: groups, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var uiCSRFRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type uiResponse struct {
	status int
	body   string
	header http.Header
}

func (c *uiClient) do(method, path string, form url.Values) uiResponse {
	c.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.f.srv.URL+path, body)
	if err != nil {
		c.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.user != "" {
		req.Header.Set("X-Forwarded-User", c.user)
		req.Header.Set("X-Forwarded-Groups", c.groups)
	}
	res, b := roundTrip(c.f.t, c.hc, req)
	if m := uiCSRFRe.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return uiResponse{status: res.StatusCode, body: string(b), header: res.Header}
}

// roundTrip sends req from hc and returns the answer with its body read
// (and closed).
func roundTrip(t testing.TB, hc *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	return iamlocaltest.Send(t, hc, req)
}

func (c *uiClient) get(path string) uiResponse { return c.do(http.MethodGet, path, nil) }

// post sends form with the CSRF token of the last page seen (fetching a
// page first when none was).
func (c *uiClient) post(path string, form url.Values) uiResponse {
	c.f.t.Helper()
	if c.csrf == "" {
		c.get("/requests")
	}
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, form)
}

// follow posts and then gets the page the answer redirects to.
func (c *uiClient) follow(path string, form url.Values) uiResponse {
	c.f.t.Helper()
	r := c.post(path, form)
	if r.status != http.StatusSeeOther {
		c.f.t.Fatalf("POST %s = %d, want 303; body:\n%s", path, r.status, pageExcerpt(r.body))
	}
	return c.get(r.header.Get("Location"))
}

func pageExcerpt(s string) string {
	if i := strings.Index(s, `<main id="main">`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 3000 {
		s = s[:3000]
	}
	return s
}

func pageHas(t testing.TB, r uiResponse, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("page lacks %q; got:\n%s", w, pageExcerpt(r.body))
		}
	}
}

func pageLacks(t testing.TB, r uiResponse, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(r.body, w) {
			t.Errorf("page contains %q; got:\n%s", w, pageExcerpt(r.body))
		}
	}
}

func uiNewReq(name, requester string, scopes ...provision.BucketScope) store.NewRequest {
	if len(scopes) == 0 {
		scopes = []provision.BucketScope{{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessRead}}
	}
	return store.NewRequest{Spec: provision.RoleSpec{Name: name, Description: "reads reports", Buckets: scopes},
		Justification: "the nightly report job reads it", Requester: requester}
}

func uiCreate(t testing.TB, db *store.DB, in store.NewRequest) store.Request {
	t.Helper()
	r, err := db.CreateRequest(uiCtx(t), in)
	if err != nil {
		t.Fatalf("CreateRequest(%s): %v", in.Spec.Name, err)
	}
	return r.Request
}

// activate drives the worker's side of the lifecycle: approve, provision,
// complete, as the provisioning worker would.
func uiActivate(t testing.TB, db *store.DB, r store.Request) store.Request {
	t.Helper()
	ctx := uiCtx(t)
	r, err := db.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob", "dave", "carol"} {
		if r.Status != store.StatusPending {
			break
		}
		var err error
		r, err = db.Decide(ctx, store.Actor{Name: name, Roles: []store.Role{store.RoleApprover}}, r.ID, r.Version, store.Decision{Approve: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	work, err := db.BeginProvisioning(ctx, r.ID, r.Version)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := provision.NewPlan(work.Spec, db.Settings(), provision.PlanMeta{RequestID: "1", Requester: r.Requester})
	if err != nil {
		t.Fatal(err)
	}
	tf, err := provision.Terraform(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteProvisioning(ctx, r.ID, r.Version, store.ProvisionResult{
		RoleARN: plan.RoleARN(), InstanceProfileARN: plan.InstanceProfileARN(), Terraform: tf,
		Steps: []store.Step{{Resource: "role", Name: plan.Role.Name, ARN: plan.RoleARN(), Outcome: "created"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := db.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
