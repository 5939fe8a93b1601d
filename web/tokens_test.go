package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

var secretRe = regexp.MustCompile(`rgt_\d+_[A-Za-z0-9_-]{43}`)

// createToken submits the new token form and returns the page and the
// secret it shows.
func createToken(t *testing.T, c *uiClient, form url.Values) (uiResponse, string) {
	t.Helper()
	c.get("/settings/tokens")
	r := c.post("/settings/tokens", form)
	if r.status != http.StatusCreated {
		t.Fatalf("%s creates a token: %d, want 201\n%s", c.user, r.status, pageExcerpt(r.body))
	}
	secret := secretRe.FindString(r.body)
	if secret == "" {
		t.Fatalf("no token on the result page:\n%s", pageExcerpt(r.body))
	}
	return r, secret
}

// apiMe calls /api/v1/me with a bearer token.
func apiMe(t *testing.T, f *uiFixture, token string) (int, api.MeView) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, body := roundTrip(t, http.DefaultClient, req)
	var me api.MeView
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &me); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, me
}

func TestTokensPageByCaller(t *testing.T) {
	f := uiProxyTest(t)
	callers := map[string]*uiClient{
		"signed out": f.client("", ""),
		"alice":      f.client("alice", ""),
		"bob":        f.client("bob", approverGroups),
		"carol":      f.client("carol", adminGroups),
	}
	for who, want := range map[string]int{"signed out": 303, "alice": 200, "bob": 200, "carol": 200} {
		r := callers[who].get("/settings/tokens")
		if r.status != want {
			t.Errorf("%s GET /settings/tokens = %d, want %d", who, r.status, want)
		}
		if want == 200 {
			pageHas(t, r, "<title>API tokens · rolegate</title>", `href="/settings/tokens"`, `id="t-role-requester"`, "No tokens yet")
		}
	}
	// Each is offered only the roles they hold.
	pageLacks(t, callers["alice"].get("/settings/tokens"), `id="t-role-approver"`, `id="t-role-admin"`, `href="/settings/tokens?all=1"`)
	pageHas(t, callers["bob"].get("/settings/tokens"), `id="t-role-approver"`)
	pageLacks(t, callers["bob"].get("/settings/tokens"), `id="t-role-admin"`)
	pageHas(t, callers["carol"].get("/settings/tokens"), `id="t-role-admin"`, `href="/settings/tokens?all=1"`)

	// Posts without the form's CSRF token are refused, signed in or not.
	for _, who := range []string{"signed out", "alice", "carol"} {
		form := url.Values{"description": {"x"}, "expiry": {"30d"}, "role": {"requester"}}
		if who != "signed out" {
			form.Set("csrf", "forged")
		}
		if r := callers[who].do(http.MethodPost, "/settings/tokens", form); r.status != http.StatusForbidden {
			t.Errorf("%s posts without a CSRF token: %d, want 403", who, r.status)
		}
	}
	tokens, err := f.db.ListTokens(uiCtx(t), "")
	if err != nil || len(tokens) != 0 {
		t.Fatalf("tokens after refused posts: %v, %v", tokens, err)
	}
}

func TestTokenCreatedShownOnceAndUsable(t *testing.T) {
	f := uiProxyTest(t)
	dave := f.client("dave", "approvers,data-owners")
	r, secret := createToken(t, dave, url.Values{"description": {"deploy <pipeline>"}, "expiry": {"30d"}, "role": {"requester", "approver"}})
	pageHas(t, r, "<title>New API token · rolegate</title>", "shown only once", `data-copy="token-secret"`,
		"requester, approver", "deploy &lt;pipeline&gt;")
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("result page Cache-Control = %q, want no-store", cc)
	}

	// The token works against the API with the roles and groups chosen.
	status, me := apiMe(t, f, secret)
	if status != http.StatusOK || me.Name != "dave" || !slices.Equal(me.Roles, []store.Role{store.RoleRequester, store.RoleApprover}) ||
		!slices.Equal(me.Groups, []string{"approvers", "data-owners"}) || me.Token.ExpiresAt == nil {
		t.Fatalf("/api/v1/me = %d %+v", status, me)
	}

	// No later page shows the secret, whoever looks; the list names it by prefix.
	carol := f.client("carol", adminGroups)
	id := strings.Split(secret, "_")[1]
	for _, page := range []struct {
		c    *uiClient
		path string
	}{{dave, "/settings/tokens"}, {carol, "/settings/tokens?all=1"}, {carol, "/audit"}, {dave, "/requests"}} {
		got := page.c.get(page.path)
		if got.status != http.StatusOK {
			t.Errorf("%s GET %s = %d", page.c.user, page.path, got.status)
		}
		pageLacks(t, got, secret, secret[len(secret)-43:])
	}
	list := dave.get("/settings/tokens")
	pageHas(t, list, "rgt_"+id+"_…", "deploy &lt;pipeline&gt;", "requester, approver", "status-active")
	pageHas(t, carol.get("/settings/tokens?all=1"), "rgt_"+id+"_…", "dave")
	pageLacks(t, carol.get("/settings/tokens"), "rgt_"+id+"_…")
}

func TestTokenFormErrorsAndEscalation(t *testing.T) {
	f := uiProxyTest(t)
	alice, bob := f.client("alice", ""), f.client("bob", approverGroups)
	alice.get("/settings/tokens")
	bob.get("/settings/tokens")
	cases := []struct {
		name  string
		c     *uiClient
		form  url.Values
		field string
		msg   string
	}{
		{"requester asks for admin", alice, url.Values{"description": {"ci"}, "expiry": {"30d"}, "role": {"requester", "admin"}}, "t-roles", "do not hold the admin role"},
		{"requester asks for approver", alice, url.Values{"description": {"ci"}, "expiry": {"30d"}, "role": {"approver"}}, "t-roles", "do not hold the approver role"},
		{"approver asks for admin", bob, url.Values{"description": {"ci"}, "expiry": {"30d"}, "role": {"admin"}}, "t-roles", "do not hold the admin role"},
		{"unknown role", bob, url.Values{"description": {"ci"}, "expiry": {"30d"}, "role": {"root"}}, "t-roles", "do not hold the root role"},
		{"no role", alice, url.Values{"description": {"ci"}, "expiry": {"30d"}}, "t-roles", "at least one role"},
		{"no description", alice, url.Values{"description": {"  "}, "expiry": {"365d"}, "role": {"requester"}}, "t-description", "Say what the token is for"},
		{"long description", alice, url.Values{"description": {strings.Repeat("x", 201)}, "expiry": {"30d"}, "role": {"requester"}}, "t-description", "200 characters"},
		{"terminal escape", alice, url.Values{"description": {"ci \x1b[31mred"}, "expiry": {"30d"}, "role": {"requester"}}, "t-description", "The description contains an invisible control character (U+001B, escape) at character 4; remove it."},
		{"odd expiry", alice, url.Values{"description": {"ci"}, "expiry": {"10y"}, "role": {"requester"}}, "t-expiry", "Choose one of the expiry options"},
	}
	for _, tc := range cases {
		r := tc.c.post("/settings/tokens", tc.form)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", tc.name, r.status)
			continue
		}
		pageHas(t, r, fmt.Sprintf(`id="%s-error"`, tc.field), tc.msg)
		if secretRe.MatchString(r.body) {
			t.Errorf("%s: a token was shown", tc.name)
		}
	}
	// What was typed is kept.
	r := alice.post("/settings/tokens", url.Values{"description": {"nightly <job>"}, "expiry": {"365d"}})
	pageHas(t, r, `value="nightly &lt;job&gt;"`, `<option value="365d" selected>`)
	tokens, err := f.db.ListTokens(uiCtx(t), "")
	if err != nil || len(tokens) != 0 {
		t.Fatalf("tokens after refused forms: %d, %v", len(tokens), err)
	}
	// Within their roles they succeed; "never" stores no expiry.
	createToken(t, bob, url.Values{"description": {"approval bot"}, "expiry": {"never"}, "role": {"approver"}})
	tokens, err = f.db.ListTokens(uiCtx(t), "bob")
	if err != nil || len(tokens) != 1 || !slices.Equal(tokens[0].Roles, []store.Role{store.RoleApprover}) || tokens[0].ExpiresAt != nil ||
		tokens[0].CreatedBy != "bob" {
		t.Fatalf("bob's tokens: %+v, %v", tokens, err)
	}
}

func TestTokenRevokedFromThePage(t *testing.T) {
	f := uiProxyTest(t)
	alice, erin, carol := f.client("alice", ""), f.client("erin", ""), f.client("carol", adminGroups)
	_, aliceSecret := createToken(t, alice, url.Values{"description": {"laptop"}, "expiry": {"90d"}, "role": {"requester"}})
	_, erinSecret := createToken(t, erin, url.Values{"description": {"ci"}, "expiry": {"90d"}, "role": {"requester"}})
	aliceID, erinID := strings.Split(aliceSecret, "_")[1], strings.Split(erinSecret, "_")[1]
	if s, _ := apiMe(t, f, aliceSecret); s != http.StatusOK {
		t.Fatalf("fresh token: %d", s)
	}

	// Another user's token is not found, and stays usable.
	erin.get("/settings/tokens")
	if r := erin.post("/settings/tokens/"+aliceID+"/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("erin revokes alice's token: %d, want 404", r.status)
	}
	// Without the form's CSRF token nothing happens.
	if r := alice.do(http.MethodPost, "/settings/tokens/"+aliceID+"/revoke", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("revoke without CSRF: %d, want 403", r.status)
	}
	if s, _ := apiMe(t, f, aliceSecret); s != http.StatusOK {
		t.Fatalf("after refused revocations: %d", s)
	}

	alice.get("/settings/tokens")
	r := alice.follow("/settings/tokens/"+aliceID+"/revoke", nil)
	pageHas(t, r, "flash-ok", "revoked; it no longer works", "status-revoked", "revoked 2")
	pageLacks(t, r, `id="revoke-token-`+aliceID+`"`)
	if s, _ := apiMe(t, f, aliceSecret); s != http.StatusUnauthorized {
		t.Errorf("revoked token against /api/v1/me: %d, want 401", s)
	}
	// A second revocation is news, not an error page.
	r = alice.follow("/settings/tokens/"+aliceID+"/revoke", nil)
	pageHas(t, r, "flash-error", "already revoked")

	// Admins see everyone's tokens and revoke any of them.
	all := carol.get("/settings/tokens?all=1")
	pageHas(t, all, "rgt_"+aliceID+"_…", "rgt_"+erinID+"_…", `id="revoke-token-`+erinID+`"`)
	r = carol.follow("/settings/tokens/"+erinID+"/revoke", url.Values{"return": {"/settings/tokens?all=1"}})
	pageHas(t, r, "flash-ok", "All tokens")
	if s, _ := apiMe(t, f, erinSecret); s != http.StatusUnauthorized {
		t.Errorf("token revoked by an admin: %d, want 401", s)
	}
	events, err := f.db.ListEvents(uiCtx(t), store.EventFilter{Kind: store.EventTokenRevoked})
	if err != nil || len(events) != 2 || events[1].Actor != "carol" {
		t.Errorf("revocation events: %+v, %v", events, err)
	}
	if r := carol.post("/settings/tokens/nope/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("malformed token ID: %d", r.status)
	}
}

// A token made on the page carries its maker's roles and groups of that
// day. When the user is next seen with fewer (left the approvers group),
// the tokens they made lose what they no longer hold, for good; tokens an
// admin made for them on the command line are the admin's to manage.
func TestTokensNarrowToTheUsersCurrentRoles(t *testing.T) {
	f := uiProxyTest(t)
	_, secret := createToken(t, f.client("dave", "approvers,data-owners"),
		url.Values{"description": {"deploy"}, "expiry": {"30d"}, "role": {"requester", "approver"}})
	_, cliSecret, err := f.db.CreateToken(f.ctx, store.NewToken{User: "dave", Groups: []string{"approvers"},
		Roles: []store.Role{store.RoleRequester, store.RoleApprover}, CreatedBy: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	roles := func(token string) string {
		t.Helper()
		code, me := apiMe(t, f, token)
		if code != http.StatusOK {
			t.Fatalf("/api/v1/me = %d", code)
		}
		var rs []string
		for _, r := range me.Roles {
			rs = append(rs, string(r))
		}
		return strings.Join(rs, ",") + " / " + strings.Join(me.Groups, ",")
	}
	if got := roles(secret); got != "requester,approver / approvers,data-owners" {
		t.Fatalf("the new token speaks for %q", got)
	}

	// dave leaves the approvers group; any page he opens narrows his token.
	if r := f.client("dave", "data-owners").get("/requests"); r.status != http.StatusOK {
		t.Fatalf("dave's page: %d", r.status)
	}
	if got := roles(secret); got != "requester / data-owners" {
		t.Fatalf("after dave left the approvers, his token speaks for %q", got)
	}
	if got := roles(cliSecret); got != "requester,approver / approvers" {
		t.Fatalf("the command line's token changed to %q", got)
	}
	events, err := f.db.ListEvents(f.ctx, store.EventFilter{Kind: store.EventTokenNarrowed})
	if err != nil || len(events) != 1 || events[0].Actor != "dave" {
		t.Fatalf("audit events for the narrowing: %+v (err %v)", events, err)
	}

	// Rejoining does not give the token back what it lost.
	f.client("dave", "approvers,data-owners").get("/requests")
	if got := roles(secret); got != "requester / data-owners" {
		t.Fatalf("after dave rejoined, his token speaks for %q", got)
	}
}

// TestOlderSessionCannotMintWhatASignInTookAway: with OIDC a session keeps
// the roles of its sign-in. Once olivia signs in with fewer (her identity
// provider took her out of the approvers), a browser she signed in before
// holds no more than she does: it cannot make a token, good for a year,
// with the approver role her tokens were just narrowed to lose, nor decide.
func TestOlderSessionCannotMintWhatASignInTookAway(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	f := uiServeOIDC(t, p, auth.RoleGroups{Approver: []string{"approvers"}})
	p.signInAs("olivia", "approvers", "data-owners")
	before := f.client("", "")
	pageHas(t, getFollowing(t, before, "/auth/login?next=%2Fsettings%2Ftokens"), `data-user="olivia"`, `value="approver"`)

	p.signInAs("olivia", "staff")
	after := f.client("", "")
	pageHas(t, getFollowing(t, after, "/auth/login?next=%2Fsettings%2Ftokens"), `data-user="olivia"`)

	form := url.Values{"description": {"deploy"}, "expiry": {"365d"}, "role": {"approver"}}
	if r := before.post("/settings/tokens", form); r.status == http.StatusCreated {
		t.Fatalf("the older session made a token with the approver role:\n%s", pageExcerpt(r.body))
	}
	if r := before.get("/dashboard"); r.status != http.StatusForbidden {
		t.Errorf("the older session's dashboard: %d, want 403", r.status)
	}
	r := before.get("/settings/tokens")
	pageLacks(t, r, `value="approver"`)
	pageHas(t, r, `data-user="olivia"`)
}
