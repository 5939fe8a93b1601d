package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// methodsOf groups a router's routes by path: path -> its methods.
func methodsOf(e *echo.Echo) map[string][]string {
	out := map[string][]string{}
	for _, k := range routeKeys(e) {
		m, p, _ := strings.Cut(k, " ")
		out[p] = append(out[p], m)
	}
	return out
}

// routedFor lists the methods routes has for a concrete path, wherever a
// route's pattern matches it (so GET of /requests/:id counts for
// /requests/preview, as the router sends it there).
func routedFor(routes map[string][]string, path string) []string {
	var out []string
	segs := strings.Split(path, "/")
	for pattern, methods := range routes {
		ps := strings.Split(pattern, "/")
		match := len(ps) == len(segs)
		for i := 0; match && i < len(ps); i++ {
			match = ps[i] == segs[i] || strings.HasPrefix(ps[i], ":") || ps[i] == "*"
		}
		if match {
			for _, m := range methods {
				if !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// rawCall sends one request as carol (an admin: the proxy's headers for
// pages, her token for the API) and returns status, headers and body.
func (env *secEnv) rawCall(base, method, path string) (int, http.Header, []byte) {
	t := env.t
	t.Helper()
	hr, err := http.NewRequestWithContext(ctxT(t), method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("X-Forwarded-User", "carol")
	hr.Header.Set("X-Forwarded-Groups", "staff,admins")
	if strings.HasPrefix(path, "/api/v1/") {
		hr.Header.Set(echo.HeaderAuthorization, "Bearer "+env.api.tokens[zAdmin])
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, body := roundTrip(t, hc, hr)
	return res.StatusCode, res.Header, body
}

// TestEveryRouteAnswersHEADAnd405 goes over every route of every identity
// mode (the list comes from the router): HEAD answers like GET wherever
// GET is routed, without a body, and every other method a path is not
// routed for is a 405 whose Allow header lists the methods it is routed
// for; OPTIONS answers that list too.
func TestEveryRouteAnswersHEADAnd405(t *testing.T) {
	env := secSetup(t)
	active := env.fixture("active")
	tok := env.fixture("token")
	concretePath := func(p string) string {
		id := active.ID
		if strings.HasPrefix(p, "/settings/tokens/") {
			id = tok.ID
		}
		return strings.NewReplacer(":id", strconv.FormatInt(id, 10), ":version", strconv.Itoa(active.Version),
			"*", "app.css").Replace(p)
	}
	paths := 0
	for _, s := range []struct {
		e    *echo.Echo
		base string
	}{{env.main, env.api.srv.URL}, {env.dev, env.devSrv.URL}, {env.oidc, env.oidcSrv.URL}} {
		routes := methodsOf(s.e)
		for route, methods := range routes {
			paths++
			path := concretePath(route)
			allowed := routedFor(routes, path)
			if slices.Contains(allowed, http.MethodGet) {
				allowed = append(allowed, http.MethodHead)
			}
			if slices.Contains(methods, http.MethodGet) {
				getStatus, getHeader, _ := env.rawCall(s.base, http.MethodGet, path)
				status, header, body := env.rawCall(s.base, http.MethodHead, path)
				if status != getStatus || header.Get(echo.HeaderContentType) != getHeader.Get(echo.HeaderContentType) || len(body) != 0 {
					t.Errorf("HEAD %s: %d %q with %d body bytes; GET: %d %q", route, status, header.Get(echo.HeaderContentType),
						len(body), getStatus, getHeader.Get(echo.HeaderContentType))
				}
				if status == http.StatusMethodNotAllowed || status == http.StatusNotFound {
					t.Errorf("HEAD %s: %d", route, status)
				}
			}
			slices.Sort(allowed)
			wantAllow := strings.Join(allowed, ", ")
			for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				if slices.Contains(allowed, m) {
					continue
				}
				status, header, _ := env.rawCall(s.base, m, path)
				if status != http.StatusMethodNotAllowed || header.Get(echo.HeaderAllow) != wantAllow {
					t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", m, route, status, header.Get(echo.HeaderAllow), wantAllow)
				}
			}
			status, header, _ := env.rawCall(s.base, http.MethodOptions, path)
			if status != http.StatusNoContent || header.Get(echo.HeaderAllow) != wantAllow {
				t.Errorf("OPTIONS %s: %d, Allow %q; want 204, Allow %q", route, status, header.Get(echo.HeaderAllow), wantAllow)
			}
		}
	}
	if paths < 30 {
		t.Fatalf("only %d paths: is the API mounted?", paths)
	}
	// A path routed for no method stays a 404, for every method: a form
	// posted there without a CSRF token too (no form could act there).
	for _, p := range []string{"/no-such-page", "/api/v1/no-such-thing", "/requests/1/no-such-action"} {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if status, _, _ := env.rawCall(env.api.srv.URL, m, p); status != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", m, p, status)
			}
		}
	}
}

// TestIDsAreParsedStrictly: "+N", "0N" and the like are not aliases of
// request or token N anywhere, pages or API: every route with an ID in
// its path answers 404 for them, and a bearer token written with such an
// ID is not the token.
func TestIDsAreParsedStrictly(t *testing.T) {
	env := secSetup(t)
	pending := env.fixture("pending")
	tok := env.fixture("token")
	// Carol is an admin: no route refuses her before reading the ID.
	admin := env.clients[zAdmin]
	var checked int
	for route := range env.allRoutes() {
		method, path, _ := strings.Cut(route, " ")
		if !strings.Contains(path, ":id") && !strings.Contains(path, ":version") {
			continue
		}
		id, version := strconv.FormatInt(pending.ID, 10), strconv.Itoa(pending.Version)
		if strings.HasPrefix(path, "/settings/tokens/") {
			id = strconv.FormatInt(tok.ID, 10)
		}
		var variants []string
		for _, bad := range []string{"+" + id, "0" + id, "00" + id, id + "%20", "%20" + id, id + ".0", "-" + id} {
			variants = append(variants, strings.NewReplacer(":id", bad, ":version", version).Replace(path))
		}
		if strings.Contains(path, ":version") {
			for _, bad := range []string{"+" + version, "0" + version} {
				variants = append(variants, strings.NewReplacer(":id", id, ":version", bad).Replace(path))
			}
		}
		for _, p := range variants {
			checked++
			var status int
			switch {
			case strings.HasPrefix(p, "/api/"):
				status = env.api.do(req{method: method, path: p, as: zAdmin, body: map[string]any{}}).StatusCode
			case method == http.MethodGet:
				status = admin.get(p).status
			default:
				status = admin.post(p, url.Values{"version": {version}, "decision": {"approve"}}).status
			}
			if status != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", method, p, status)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d calls: are the routes with IDs mounted?", checked)
	}
	ctx := ctxT(t)
	if r, err := env.db.GetRequest(ctx, pending.ID); err != nil || r.Status != store.StatusPending {
		t.Fatalf("request after the calls: %v, %v; want it untouched (pending)", r.Status, err)
	}
	toks, err := env.db.ListTokens(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.ID == tok.ID && tk.RevokedAt != nil {
			t.Fatal("token revoked through a non-canonical ID")
		}
	}

	// The canonical forms work.
	if st := env.api.do(req{method: http.MethodGet, path: pathf("/api/v1/requests/%d", pending.ID), as: zOwner}).StatusCode; st != http.StatusOK {
		t.Fatalf("canonical ID: %d", st)
	}
	// rgt_<id>_<secret> with the ID written another way is not a token.
	secret := env.api.tokens[zOwner]
	rest := strings.TrimPrefix(secret, store.TokenPrefix)
	idPart, sec, _ := strings.Cut(rest, "_")
	for _, bad := range []string{"0" + idPart, "+" + idPart, "00" + idPart} {
		env.api.tokens["alias"] = store.TokenPrefix + bad + "_" + sec
		if st := env.api.do(req{method: http.MethodGet, path: "/api/v1/me", as: "alias"}).StatusCode; st != http.StatusUnauthorized {
			t.Errorf("token written rgt_%s_…: %d, want 401", bad, st)
		}
	}
}
