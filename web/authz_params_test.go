package web

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// paramCase is one GET route with a query parameter that names a request
// or a requester: who may read what it names, and the text that must not
// reach anyone else.
type paramCase struct {
	path    string
	allowed []string
}

// TestAuthorisationMatrixQueryParameters extends the matrix to every GET
// route and every query parameter that names a request (request_id,
// request, requester, cursor contents), for each caller kind: whoever the
// request's read rule refuses is refused (or gets nothing of it), and its
// justification, comments and history never reach them.
func TestAuthorisationMatrixQueryParameters(t *testing.T) {
	env := secSetup(t)
	ctx := ctxT(t)
	// A request routed to the data owners and one that is not, both
	// alice's, each with a secret in its justification and a comment in
	// its history.
	mk := func(name, bucket, secret string) store.Request {
		r := uiCreate(t, env.db, store.NewRequest{Spec: provision.RoleSpec{Name: name,
			Buckets: []provision.BucketScope{{Bucket: bucket, Access: provision.AccessRead}}},
			Justification: secret, Requester: "alice"})
		if _, err := env.db.Decide(ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 1,
			store.Decision{Approve: true, Comment: "comment-" + secret}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	routed := mk("params-routed", "owned-reports", "secret-routed-7f3a")
	plain := mk("params-plain", "reports", "secret-plain-91bc")
	provisionFromStore(t, env.db, plain.ID) // active: listed on the Roles page and /api/v1/roles
	cursorPast := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("r%d", plain.ID+1)))

	viewersRouted := []string{zOwner, zApprover, zAdmin, zDataOwner}
	viewersPlain := []string{zOwner, zApprover, zAdmin}
	approvers := []string{zApprover, zAdmin}
	cases := []struct {
		c       paramCase
		secrets []string // what nobody outside allowed may see
		html    bool
	}{
		{paramCase{fmt.Sprintf("/api/v1/events?request_id=%d", routed.ID), viewersRouted}, []string{"comment-secret-routed-7f3a"}, false},
		{paramCase{fmt.Sprintf("/api/v1/events?request_id=%d", plain.ID), viewersPlain}, []string{"comment-secret-plain-91bc"}, false},
		{paramCase{fmt.Sprintf("/api/v1/events?request_id=%d&actor=erin", plain.ID), viewersPlain}, nil, false},
		{paramCase{"/api/v1/events?actor=bob", approvers}, []string{"comment-secret"}, false},
		{paramCase{"/api/v1/requests?requester=alice", []string{zOwner, zApprover, zAdmin}}, []string{"secret-"}, false},
		{paramCase{"/api/v1/requests?cursor=" + cursorPast, withRole}, nil, false},
		{paramCase{"/api/v1/requests/" + fmt.Sprint(plain.ID), viewersPlain}, []string{"secret-plain-91bc"}, false},
		{paramCase{"/api/v1/roles", withRole}, nil, false},
		{paramCase{"/api/v1/roles?cursor=" + cursorPast, withRole}, nil, false},
		{paramCase{fmt.Sprintf("/requests/%d", routed.ID), viewersRouted}, []string{"secret-routed-7f3a"}, true},
		{paramCase{fmt.Sprintf("/requests/%d", plain.ID), viewersPlain}, []string{"secret-plain-91bc"}, true},
		{paramCase{fmt.Sprintf("/audit?request=%d", plain.ID), approvers}, []string{"comment-secret"}, true},
		{paramCase{"/dashboard?status=all&requester=alice", []string{zApprover, zAdmin, zDataOwner}}, []string{"secret-plain-91bc"}, true},
		{paramCase{"/requests?cursor=" + cursorPast, withRole}, nil, true},
		{paramCase{"/roles?cursor=" + cursorPast, withRole}, nil, true},
	}
	for _, tc := range cases {
		callers := apiCallers
		if tc.html {
			callers = htmlCallers
		}
		var got []string
		for _, who := range callers {
			var status int
			var body, loc string
			if tc.html {
				res := env.clients[who].get(tc.c.path)
				status, body, loc = res.status, res.body, res.header.Get("Location")
			} else {
				res := env.api.do(req{method: "GET", path: tc.c.path, as: who})
				status, body, loc = res.StatusCode, string(res.body), res.Header.Get("Location")
			}
			if status >= 500 {
				t.Errorf("%s as %s: %d", tc.c.path, who, status)
			}
			ok := !denied(status, loc, false)
			if ok {
				got = append(got, who)
			}
			// Whoever may read the request sees it; everyone else sees
			// nothing of what it says, whatever the status.
			mayRead := func(secret string) bool {
				switch {
				case strings.Contains(secret, "routed"):
					return slices.Contains(viewersRouted, who)
				case strings.Contains(secret, "plain"):
					return slices.Contains(viewersPlain, who)
				}
				return slices.Contains(tc.c.allowed, who)
			}
			for _, s := range append(tc.secrets, "secret-routed-7f3a", "secret-plain-91bc") {
				if strings.Contains(body, s) && !mayRead(s) {
					t.Errorf("%s as %s (%d): the body holds %q", tc.c.path, who, status, s)
				}
			}
		}
		if want := sorted(tc.c.allowed); !slices.Equal(sorted(got), want) {
			t.Errorf("%s: allowed %v, want %v", tc.c.path, got, want)
		}
	}

	// The Roles page and the roles API show the same of a role: its
	// name, owner and ARNs, never its spec or justification.
	res := env.api.do(req{method: "GET", path: "/api/v1/roles", as: zOther})
	var page struct {
		Items []map[string]any `json:"items"`
	}
	res.json(t, &page)
	if len(page.Items) != 1 || page.Items[0]["role_name"] != "params-plain" || page.Items[0]["requester"] != "alice" ||
		page.Items[0]["role_arn"] == nil || page.Items[0]["spec"] != nil || page.Items[0]["justification"] != nil {
		t.Fatalf("roles as another requester: %s", res.body)
	}
	// A user who bears a name rolegate writes its own events under is not
	// their author: "actor=worker" is the whole trail of provisioning.
	// Such names are refused since, and a token made before under one no
	// longer works at all.
	tok, secret, err := env.db.CreateToken(ctx, store.NewToken{User: "worker-to-be", Roles: []store.Role{store.RoleRequester}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.db.Pool().Exec(ctx, `UPDATE api_tokens SET user_name = 'worker' WHERE id = $1`, tok.ID); err != nil {
		t.Fatal(err)
	}
	tok.User = "worker"
	env.api.tokens["user named worker"], env.api.tok["user named worker"] = secret, tok
	if r := env.api.do(req{method: "GET", path: "/api/v1/events?actor=worker", as: "user named worker"}); r.StatusCode != 401 ||
		!strings.Contains(string(r.body), "no longer accepts") {
		t.Fatalf("a user named worker lists the worker's events: %d, want 401\n%s", r.StatusCode, r.body)
	}
	html := env.clients[zOther].get("/roles")
	if !strings.Contains(html.body, "params-plain") || strings.Contains(html.body, "secret-plain") {
		t.Fatalf("roles page as another requester: %d", html.status)
	}
}
