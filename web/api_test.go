package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
)

// apiEnv is a server on a fresh database with one token per kind of caller.
type apiEnv struct {
	t      *testing.T
	db     *store.DB
	srv    *httptest.Server
	offset atomic.Int64 // added to the store's clock
	tokens map[string]string
	tok    map[string]store.Token
}

// The kinds of caller every authorisation test covers.
const (
	asNobody    = "nobody"  // no token at all
	asExpired   = "expired" // alice's expired token
	asRevoked   = "revoked" // alice's revoked token
	asAlice     = "alice"   // a requester
	asErin      = "erin"    // another requester
	asBob       = "bob"     // an approver
	asCarol     = "carol"   // an admin
	asDave      = "dave"    // a second approver
	asMalformed = "garbage"
)

// setupAPI is setupAPIWith the default limits and store.
func setupAPI(t *testing.T) *apiEnv {
	t.Helper()
	return setupAPIWith(t, api.Limits{}, store.Options{})
}

// setupAPIWith is setupAPI on a store opened with opts; the store's clock
// is the env's (now plus offset).
func setupAPIWith(t *testing.T, limits api.Limits, opts store.Options) *apiEnv {
	t.Helper()
	t.Parallel()
	env := newAPIEnv(t, opts)
	env.srv = httptest.NewServer(newServer(testDeps(env.db), auth.Identity{}, env.db, limits))
	t.Cleanup(env.srv.Close)
	env.addToken(asAlice, store.NewToken{User: "alice", Roles: []store.Role{store.RoleRequester}})
	env.addToken(asErin, store.NewToken{User: "erin", Roles: []store.Role{store.RoleRequester}})
	env.addToken(asBob, store.NewToken{User: "bob", Roles: []store.Role{store.RoleRequester, store.RoleApprover}})
	env.addToken(asCarol, store.NewToken{User: "carol", Roles: []store.Role{store.RoleRequester, store.RoleAdmin}})
	env.addToken(asDave, store.NewToken{User: "dave", Roles: []store.Role{store.RoleRequester, store.RoleApprover}})
	env.addDeadTokens(asRevoked, asExpired)
	env.tokens[asMalformed] = "rgt_nope"
	return env
}

// newAPIEnv opens a database with opts whose clock is the env's (now plus
// offset); the caller starts the server.
func newAPIEnv(t *testing.T, opts store.Options) *apiEnv {
	t.Helper()
	env := &apiEnv{t: t, tokens: map[string]string{}, tok: map[string]store.Token{}}
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(env.offset.Load())) }
	env.db = storetest.Open(t, storetest.URL(t), opts)
	return env
}

// addToken makes the token of the kind of caller kind.
func (env *apiEnv) addToken(kind string, nt store.NewToken) {
	env.t.Helper()
	nt.CreatedBy = "test"
	tok, secret, err := env.db.CreateToken(ctxT(env.t), nt)
	if err != nil {
		env.t.Fatal(err)
	}
	env.tokens[kind], env.tok[kind] = secret, tok
}

// addDeadTokens gives alice a revoked token, of kind revoked, and one that
// expired half an hour ago, of kind expired.
func (env *apiEnv) addDeadTokens(revoked, expired string) {
	t := env.t
	t.Helper()
	env.addToken(revoked, store.NewToken{User: "alice", Roles: []store.Role{store.RoleRequester}})
	if _, err := env.db.RevokeToken(ctxT(t), env.tok[revoked].ID, "", "test"); err != nil {
		t.Fatal(err)
	}
	// Made an hour in the past, valid for half of it.
	env.offset.Store(int64(-time.Hour))
	defer env.offset.Store(0)
	exp := time.Now().Add(-30 * time.Minute)
	env.addToken(expired, store.NewToken{User: "alice", ExpiresAt: &exp})
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// resp is a response with its body read.
type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v\n%s", r.Request.URL, err, r.body)
	}
}

// detail decodes a request's detail.
func (r resp) detail(t *testing.T) api.RequestDetail {
	t.Helper()
	var v api.RequestDetail
	r.json(t, &v)
	return v
}

func (r resp) problem(t *testing.T) problem.Problem {
	t.Helper()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "application/problem+json" {
		t.Fatalf("%s %s: content type %q, want application/problem+json\n%s", r.Request.Method, r.Request.URL.Path, ct, r.body)
	}
	var p problem.Problem
	r.json(t, &p)
	if p.Status != r.StatusCode || !strings.HasPrefix(p.Type, problem.Base) || p.Detail == "" || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, r.StatusCode)
	}
	return p
}

// req is one call; header values of "" are left out.
type req struct {
	method, path, as string
	body             any // string, []byte or a value to encode as JSON
	header           map[string]string
}

// do sends r and validates the response against the OpenAPI document,
// unless the path is not one the API routes (404 tests).
func (env *apiEnv) do(r req) resp {
	t := env.t
	t.Helper()
	var body io.Reader
	var raw []byte
	hrHeaderJSON := false
	switch b := r.body.(type) {
	case nil:
	case io.Reader: // streamed: no Content-Length
		body = io.MultiReader(b)
		hrHeaderJSON = true
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequestWithContext(ctxT(t), r.method, env.srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil || hrHeaderJSON {
		hr.Header.Set(echo.HeaderContentType, "application/json")
	}
	if tok := env.tokens[r.as]; tok != "" {
		hr.Header.Set(echo.HeaderAuthorization, "Bearer "+tok)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	res, got := roundTrip(t, http.DefaultClient, hr)
	checkContract(t, hr, res, got)
	return resp{Response: res, body: got}
}

// spec is a valid create body for role name.
func spec(name string) map[string]any {
	return map[string]any{
		"name":          name,
		"description":   "reads the reports bucket",
		"buckets":       []map[string]any{{"bucket": "example-bucket", "prefix": "reports/", "access": "read"}},
		"justification": "the nightly report job reads it",
	}
}

// create submits a request as alice and returns its ID.
func (env *apiEnv) create(as, name string) int64 {
	env.t.Helper()
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: as, body: spec(name)})
	if r.StatusCode != http.StatusCreated {
		env.t.Fatalf("create %s: %d %s", name, r.StatusCode, r.body)
	}
	v := r.detail(env.t)
	return v.ID
}

// activate approves request id as bob and drives it to active through the
// worker's side of the store, with the Terraform the plan renders.
func (env *apiEnv) activate(id int64) {
	t := env.t
	t.Helper()
	if r := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob, body: map[string]any{"comment": "ok"}}); r.StatusCode != 200 {
		t.Fatalf("approve: %d %s", r.StatusCode, r.body)
	}
	provisionFromStore(t, env.db, id)
}

// provisionFromStore does what the worker does for an approved request,
// without IAM: it records the plan's ARNs and Terraform.
func provisionFromStore(t *testing.T, db *store.DB, id int64) {
	t.Helper()
	ctx := ctxT(t)
	r, err := db.GetRequest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Provision(t, db, id, r.Version)
}

// A checked token is trusted for a second without asking the database: a
// revocation made elsewhere (the command line, another instance) applies
// within that second; one on this process's settings page at once
// (TestTokenRevokedFromThePage). Only the exact secret is remembered.
func TestAPITokenCheckIsRememberedForASecond(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	env := setupAPIWith(t, api.Limits{Now: clock}, store.Options{})
	me := func(secret string) int {
		return env.do(req{method: "GET", path: "/api/v1/me", header: map[string]string{"Authorization": "Bearer " + secret}}).StatusCode
	}
	secret := env.tokens[asAlice]
	if got := me(secret); got != http.StatusOK {
		t.Fatalf("alice's token: %d", got)
	}
	// The same token id with another secret is checked, and refused.
	forged := secret[:len(secret)-4] + "AAAA"
	if got := me(forged); got != http.StatusUnauthorized {
		t.Fatalf("a forged secret for a remembered token: %d, want 401", got)
	}
	if _, err := env.db.RevokeToken(ctxT(t), env.tok[asAlice].ID, "", "cli"); err != nil {
		t.Fatal(err)
	}
	if got := me(secret); got != http.StatusOK {
		t.Fatalf("within the second after a revocation elsewhere: %d, want 200 (remembered)", got)
	}
	offset.Add(int64(time.Second))
	if got := me(secret); got != http.StatusUnauthorized {
		t.Fatalf("a second after the revocation: %d, want 401", got)
	}
}
