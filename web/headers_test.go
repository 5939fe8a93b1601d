package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/web/auth"
)

// safeReferrerPolicies leak no path or query to other sites.
var safeReferrerPolicies = []string{"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}

// headerCheck asserts the security headers of responses and the
// attributes of every cookie they set.
type headerCheck struct {
	t         *testing.T
	secure    bool
	responses int
	cookies   map[string]int
}

func (hc *headerCheck) check(what string, status int, h http.Header) {
	t := hc.t
	t.Helper()
	hc.responses++
	if status >= 500 {
		t.Errorf("%s: %d", what, status)
	}
	csp := map[string]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name != "" {
			csp[strings.ToLower(name)] = value
		}
	}
	script, ok := csp["script-src"]
	if !ok {
		script, ok = csp["default-src"]
	}
	if !ok || strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") || strings.Contains(script, "*") {
		t.Errorf("%s: CSP %q: scripts are not limited to the site's own files", what, h.Get("Content-Security-Policy"))
	}
	if csp["object-src"] != "'none'" {
		t.Errorf("%s: CSP %q lacks object-src 'none'", what, h.Get("Content-Security-Policy"))
	}
	if csp["frame-ancestors"] != "'none'" && !strings.EqualFold(h.Get("X-Frame-Options"), "DENY") {
		t.Errorf("%s: the page may be framed (CSP %q, X-Frame-Options %q)", what, h.Get("Content-Security-Policy"), h.Get("X-Frame-Options"))
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, h.Get("X-Content-Type-Options"))
	}
	// Only what speaks for nobody may be cached: static files and the
	// OpenAPI document publicly, the ETag'd Terraform privately.
	switch cc := h.Get("Cache-Control"); {
	case strings.Contains(what, "/static/") || strings.Contains(what, "/api/openapi.json"):
	case strings.Contains(what, "/terraform") && cc == "private, max-age=0, must-revalidate":
	case cc != "no-store":
		t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
	}
	if rp := h.Get("Referrer-Policy"); !slices.Contains(safeReferrerPolicies, rp) {
		t.Errorf("%s: Referrer-Policy %q", what, rp)
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		hc.cookies[c.Name]++
		if !c.HttpOnly {
			t.Errorf("%s: cookie %s is not HttpOnly", what, c.Name)
		}
		if c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s: cookie %s has SameSite %v, want Lax or Strict", what, c.Name, c.SameSite)
		}
		if hc.secure && !c.Secure {
			t.Errorf("%s: cookie %s is not Secure although the cookie-secure setting is on", what, c.Name)
		}
		if hc.secure && (!strings.HasPrefix(c.Name, "__Host-") || c.Path != "/" || c.Domain != "") {
			t.Errorf("%s: cookie %s (Path %q, Domain %q) is not a __Host- cookie although the cookie-secure setting is on", what, c.Name, c.Path, c.Domain)
		}
	}
}

// TestSecurityHeaders fetches every GET route of every sign-in mode and
// of the API, signed in and out, the error pages (401, 403, 404, a refused
// form) and the responses that set cookies, with the cookie-secure
// setting off and on, and checks the headers and cookies of each.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("cookie-secure=%v", secure), func(t *testing.T) {
			id := secIdentity()
			id.CookieSecure = secure
			env := secSetupWith(t, id)
			hc := &headerCheck{t: t, secure: secure, cookies: map[string]int{}}
			active, pending := env.fixture("active"), env.fixture("pending")

			routes := env.allRoutes()
			for _, route := range slices.Sorted(maps.Keys(routes)) {
				if !strings.HasPrefix(route, "GET ") {
					continue
				}
				base, path := routes[route], concrete(route, active)
				switch {
				case strings.HasPrefix(path, "/api/"):
					for _, who := range []string{zOut, zApprover, zOwner} {
						status, h := env.get(who, path)
						hc.check(fmt.Sprintf("GET %s as %s", path, who), status, h)
					}
				case base != env.api.srv.URL:
					cl := env.browserOn(env.oidcSrv)
					if base == env.devSrv.URL {
						cl = env.browserOn(env.devSrv)
					}
					r := cl.get(path)
					hc.check(fmt.Sprintf("GET %s (%s)", path, base), r.status, r.header)
				default:
					for _, who := range []string{zOut, zNoRole, zOwner, zApprover} {
						status, h := env.get(who, path)
						hc.check(fmt.Sprintf("GET %s as %s", path, who), status, h)
					}
				}
			}

			// Error pages and errors of the API.
			for _, e := range []struct {
				who, path string
				status    int
			}{
				{zOut, "/no-such-page", 404},
				{zApprover, "/no-such-page", 404},
				{zApprover, "/requests/999999", 404},
				{zOwner, "/dashboard", 403},
				{zOther, fmt.Sprintf("/requests/%d", pending.ID), 403},
				{zNoRole, "/requests", 403},
				{zOut, "/api/v1/me", 401},
				{zExpired, "/api/v1/me", 401},
				{zOwner, "/api/v1/events", 403},
				{zOwner, "/api/v1/requests/999999", 404},
				{zOwner, "/api/v1/no-such-thing", 404},
			} {
				status, h := env.get(e.who, e.path)
				if status != e.status {
					t.Errorf("GET %s as %s: %d, want %d", e.path, e.who, status, e.status)
				}
				hc.check(fmt.Sprintf("GET %s as %s", e.path, e.who), status, h)
			}
			// A form without its CSRF token.
			r := env.clients[zApprover].do(http.MethodPost, fmt.Sprintf("/requests/%d/decide", pending.ID), url.Values{"version": {"1"}, "decision": {"approve"}})
			if r.status != http.StatusForbidden {
				t.Errorf("decide without CSRF: %d", r.status)
			}
			hc.check("POST decide without CSRF", r.status, r.header)

			// The cookies of sign-in and of actions.
			oidc := env.browserOn(env.oidcSrv)
			r = oidc.get("/auth/login")
			hc.check("GET /auth/login", r.status, r.header)
			if !secure {
				// Plain HTTP: the browser sends cookies back only when not Secure.
				dev := env.browserOn(env.devSrv)
				dev.get("/signin")
				r = dev.post("/dev/signin", url.Values{"user": {"bob"}})
				hc.check("POST /dev/signin", r.status, r.header)
				r = dev.post("/signout", nil)
				hc.check("POST /signout", r.status, r.header)
				bob := env.clients[zApprover]
				r = bob.do(http.MethodPost, fmt.Sprintf("/requests/%d/decide", pending.ID), url.Values{"version": {"1"}, "decision": {"approve"},
					"csrf": {env.csrfFor(bob, env.api.srv.URL)}})
				hc.check("POST decide", r.status, r.header)
				r = bob.get(fmt.Sprintf("/requests/%d", pending.ID))
				hc.check("GET after the flash", r.status, r.header)
			}
			want := []string{auth.SessionCookie, auth.AuthCookie}
			if !secure {
				want = append(want, auth.FlashCookie)
			}
			for i, name := range want {
				if secure {
					// Secure cookies are __Host- cookies, which no sibling
					// subdomain can plant.
					name = "__Host-" + name
					want[i] = name
				}
				if hc.cookies[name] == 0 {
					t.Errorf("no response set cookie %s: its attributes went unchecked", name)
				}
			}
			t.Logf("%d responses, cookies checked %v", hc.responses, hc.cookies)
		})
	}
}

// browserOn is a new, signed-out browser of srv, one of env's servers.
func (env *secEnv) browserOn(srv *httptest.Server) *uiClient {
	return (&uiFixture{t: env.t, db: env.db, srv: srv}).client("", "")
}

// get fetches path on the main server as who: with who's token under
// /api/, else in who's browser. It returns the status and the headers.
func (env *secEnv) get(who, path string) (int, http.Header) {
	if strings.HasPrefix(path, "/api/") {
		r := env.api.do(req{method: http.MethodGet, path: path, as: who})
		return r.StatusCode, r.Header
	}
	r := env.clients[who].get(path)
	return r.status, r.header
}
