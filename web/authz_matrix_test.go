package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rolegate/rolegate/store"
)

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

// TestAuthorisationMatrix calls every route of the router as every kind
// of caller and compares who got through (not 401, 403 or sent to sign in)
// with the table. A route without a row fails, and so does a row without
// a route; no call may end in a 5xx.
func TestAuthorisationMatrix(t *testing.T) {
	env := secSetup(t)
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
		slices.Sort(missing)
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
