package web

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// testProvider is a minimal OpenID Connect provider: discovery, an
// authorize endpoint that signs in whoever the test says, a token endpoint
// that checks the PKCE verifier, and its keys.
type testProvider struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	user     string
	groups   []string
	badNonce bool
	// authTime is the auth_time the provider reports when it reuses its
	// own session (zero: no claim); prompt=login makes it now.
	authTime time.Time
	codes    map[string]pendingCode
}

type pendingCode struct {
	nonce, challenge, clientID string
	authTime                   time.Time
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{key: key, codes: map[string]pendingCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
			http.Error(w, "PKCE, nonce and state are required", http.StatusBadRequest)
			return
		}
		code := auth.RandomToken()
		p.mu.Lock()
		at := p.authTime
		if q.Get("prompt") == "login" {
			at = time.Now()
		}
		p.codes[code] = pendingCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), clientID: q.Get("client_id"), authTime: at}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		pc, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code"))
		user, groups, badNonce := p.user, p.groups, p.badNonce
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		nonce := pc.nonce
		if badNonce {
			nonce = "someone-elses"
		}
		cl := map[string]any{"iss": p.srv.URL, "sub": "id-" + user, "aud": pc.clientID,
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "nonce": nonce,
			"preferred_username": user, "groups": groups}
		if !pc.authTime.IsZero() {
			cl["auth_time"] = pc.authTime.Unix()
		}
		claims, _ := json.Marshal(cl)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		jws, err := signer.Sign(claims)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		idt, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idt})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// identity signs users in at p for a server at base; roles maps p's
// groups to roles.
func (p *testProvider) identity(base string, roles auth.RoleGroups) auth.Identity {
	return auth.Identity{
		OIDC:  &auth.OIDCConfig{Issuer: p.srv.URL, ClientID: "rolegate", ClientSecret: "s3cret", RedirectURL: base + "/auth/callback"},
		Roles: roles, SessionKey: []byte(strings.Repeat("o", 32)),
	}
}

// serveSelf serves the handler that build makes for the server's own
// URL, which an OIDC sign-in names as its redirect.
func serveSelf(t *testing.T, build func(base string) http.Handler) *httptest.Server {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	handler = build(srv.URL)
	return srv
}

// uiServeOIDC serves the pages and the API on a database of their own,
// signing users in at p.
func uiServeOIDC(t *testing.T, p *testProvider, roles auth.RoleGroups) *uiFixture {
	t.Helper()
	db := storetest.New(t)
	srv := serveSelf(t, func(base string) http.Handler {
		return newServer(testDeps(db), p.identity(base, roles), db, api.Limits{})
	})
	return &uiFixture{t: t, db: db, srv: srv, ctx: uiCtx(t)}
}

func (p *testProvider) signInAs(user string, groups ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user, p.groups = user, groups
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	rg := uiServeOIDC(t, p, auth.RoleGroups{Approver: []string{"approvers"}, Admin: []string{"admins"}}).srv
	browser := func(follow bool) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		if !follow {
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
		return c
	}
	get := func(c *http.Client, u string) (int, string, *http.Response) {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return res.StatusCode, b.String(), res
	}

	// Sign-in with PKCE, state and nonce; the groups claim makes olivia an approver.
	p.signInAs("olivia", "approvers", "data-owners")
	olivia := browser(true)
	status, body, _ := get(olivia, rg.URL+"/dashboard")
	if status != 200 || !strings.Contains(body, `href="/auth/login?next=%2Fdashboard"`) {
		t.Fatalf("signed-out dashboard = %d, want the sign-in page\n%s", status, pageExcerpt(body))
	}
	status, body, _ = get(olivia, rg.URL+"/auth/login?next=/dashboard")
	if status != 200 || !strings.Contains(body, "<title>Approver dashboard") || !strings.Contains(body, `data-user="olivia"`) {
		t.Fatalf("olivia's dashboard after sign-in = %d\n%s", status, pageExcerpt(body))
	}
	if !strings.Contains(body, "requester, approver") {
		t.Errorf("olivia's roles are not shown as requester, approver")
	}

	// A user outside the approver groups is a requester only.
	p.signInAs("rick", "staff")
	rick := browser(true)
	get(rick, rg.URL+"/auth/login")
	if status, _, _ := get(rick, rg.URL+"/dashboard"); status != http.StatusForbidden {
		t.Errorf("rick's dashboard = %d, want 403", status)
	}
	if status, body, _ := get(rick, rg.URL+"/requests"); status != 200 || !strings.Contains(body, `data-user="rick"`) {
		t.Errorf("rick's requests = %d", status)
	}

	// An answer whose state does not match the browser's sign-in is refused.
	mallory := browser(false)
	_, _, res := get(mallory, rg.URL+"/auth/login")
	authz := res.Header.Get("Location")
	if !strings.HasPrefix(authz, p.srv.URL+"/authorize?") || !strings.Contains(authz, "code_challenge_method=S256") {
		t.Fatalf("login redirects to %q", authz)
	}
	_, _, res = get(mallory, authz)
	cb, _ := url.Parse(res.Header.Get("Location"))
	q := cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	if status, body, _ := get(mallory, cb.String()); status != http.StatusBadRequest || !strings.Contains(body, "state mismatch") {
		t.Errorf("forged state = %d\n%s", status, pageExcerpt(body))
	}
	if status, _, _ := get(mallory, rg.URL+"/requests"); status != http.StatusSeeOther {
		t.Errorf("after the refused sign-in /requests = %d, want a redirect to sign in", status)
	}

	// A token minted for another sign-in (nonce) is refused too.
	p.mu.Lock()
	p.badNonce = true
	p.mu.Unlock()
	if status, body, _ := get(browser(true), rg.URL+"/auth/login"); status != http.StatusBadRequest || !strings.Contains(body, "nonce mismatch") {
		t.Errorf("foreign nonce = %d", status)
	}
}

// TestOIDCCallbackFailures: a code the provider refuses (expired, used
// already, made up) is the user's to retry, not a server error: a 400
// page that says so and links to sign in, and no session. A provider that
// cannot be reached is a 502 saying that, at the callback and at login.
func TestOIDCCallbackFailures(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	rg := uiServeOIDC(t, p, auth.RoleGroups{}).srv
	p.signInAs("olivia")
	noFollow := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	get := func(c *http.Client, u string) (int, string, string) {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Location")
	}
	// callback walks a browser to the provider's answer, with its code
	// replaced by code unless that is "".
	callback := func(c *http.Client, code string) string {
		t.Helper()
		_, _, authz := get(c, rg.URL+"/auth/login")
		_, _, back := get(c, authz)
		cb, err := url.Parse(back)
		if err != nil || cb.Query().Get("code") == "" {
			t.Fatalf("the provider answered %q", back)
		}
		if code != "" {
			q := cb.Query()
			q.Set("code", code)
			cb.RawQuery = q.Encode()
		}
		return cb.String()
	}

	b := noFollow()
	status, body, _ := get(b, callback(b, "expired-or-made-up"))
	if status != http.StatusBadRequest || !strings.Contains(body, "Sign-in failed: the identity provider did not accept the sign-in code") ||
		!strings.Contains(body, "Try signing in again.") || !strings.Contains(body, `href="/signin"`) {
		t.Errorf("refused code = %d, want 400 saying to sign in again with a link\n%s", status, pageExcerpt(body))
	}
	if status, _, _ := get(b, rg.URL+"/requests"); status != http.StatusSeeOther {
		t.Errorf("after a refused code /requests = %d, want a redirect to sign in", status)
	}

	// The same code twice: the second is invalid_grant.
	b = noFollow()
	cb := callback(b, "")
	if status, _, _ := get(b, cb); status != http.StatusSeeOther {
		t.Fatalf("first use of the code = %d, want the redirect after signing in", status)
	}
	b2 := noFollow()
	_, _, authz := get(b2, rg.URL+"/auth/login")
	u, _ := url.Parse(authz)
	replay, _ := url.Parse(cb)
	q := replay.Query()
	q.Set("state", u.Query().Get("state"))
	replay.RawQuery = q.Encode()
	if status, body, _ := get(b2, replay.String()); status != http.StatusBadRequest || !strings.Contains(body, "Try signing in again.") {
		t.Errorf("replayed code = %d, want 400\n%s", status, pageExcerpt(body))
	}

	// The provider goes away between the redirect and the callback.
	b = noFollow()
	cb = callback(b, "")
	p.srv.Close()
	status, body, _ = get(b, cb)
	if status != http.StatusBadGateway || !strings.Contains(body, "the identity provider could not be reached") {
		t.Errorf("unreachable provider at the callback = %d, want 502 saying so\n%s", status, pageExcerpt(body))
	}

	// A server that has never reached the provider cannot start a sign-in.
	gone := newTestProvider(t)
	gone.srv.Close()
	rg2 := uiServeOIDC(t, gone, auth.RoleGroups{}).srv
	status, body, _ = get(noFollow(), rg2.URL+"/auth/login")
	if status != http.StatusBadGateway || !strings.Contains(body, "could not be reached (discovery)") {
		t.Errorf("unreachable provider at login = %d, want 502 saying so\n%s", status, pageExcerpt(body))
	}
}

// TestOIDCUserNamedAsTheSystem: an identity provider that names a person
// as rolegate names itself in the audit trail (worker, cli, ...) signs
// nobody in: 422 saying the name is reserved.
func TestOIDCUserNamedAsTheSystem(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	rg := uiServeOIDC(t, p, auth.RoleGroups{}).srv
	p.signInAs("Worker")
	jar, _ := cookiejar.New(nil)
	res, err := (&http.Client{Jar: jar}).Get(rg.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "is reserved") {
		t.Errorf("sign-in as Worker = %d, want 422 saying the name is reserved\n%s", res.StatusCode, pageExcerpt(string(body)))
	}
}
