package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/web/problem"
)

// The store's error kinds reach API callers through the one table: each
// with its status, problem type and the store's message as a sentence (a
// fixed one where the message would reveal something).
func TestAPIAnswersStoreErrorsByKind(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "wording-check")
	own := env.create(asBob, "wording-own")
	for _, tc := range []struct {
		name            string
		r               req
		status          int
		problem, detail string
	}{
		{"forbidden", req{method: "POST", path: pathf("/api/v1/requests/%d/approve", own), as: asBob, body: map[string]any{}},
			http.StatusForbidden, "forbidden", "You cannot decide on your own request."},
		{"forbidden from a change", req{method: "POST", path: pathf("/api/v1/requests/%d/retry", id), as: asAlice, body: map[string]any{}},
			http.StatusForbidden, "forbidden", "Only admins can retry."},
		{"conflict", req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("wording-check")},
			http.StatusConflict, "conflict", `A role named "wording-check" is already requested or live.`},
		{"not found", req{method: "GET", path: "/api/v1/requests/999999", as: asBob},
			http.StatusNotFound, "not-found", "No such resource."},
		{"bad cursor", req{method: "GET", path: "/api/v1/roles?cursor=garbage", as: asBob},
			http.StatusBadRequest, "bad-query", "The cursor is not one this API gave out."},
		{"forbidden by the API", req{method: "GET", path: "/api/v1/events?actor=bob", as: asAlice},
			http.StatusForbidden, "forbidden", "Requesters list the events of a request they may read (request_id=) or their own actions (actor=alice); the whole trail is for approvers and admins."},
		{"bad token", req{method: "GET", path: "/api/v1/me", as: asMalformed},
			http.StatusUnauthorized, "unauthorized", "Malformed token."},
	} {
		r := env.do(tc.r)
		wantStatus(t, r, tc.status)
		if p := r.problem(t); p.Type != problem.Base+tc.problem || p.Detail != tc.detail || p.Title != http.StatusText(tc.status) {
			t.Errorf("%s: %s %q (%s), want %s %q", tc.name, p.Type, p.Detail, p.Title, tc.problem, tc.detail)
		}
	}
}

// Pages say the general kind's words: a refined kind (a bad cursor is an
// invalid value) keeps the status and message people have always seen.
func TestPagesAnswerStoreErrorsByGeneralKind(t *testing.T) {
	f := uiProxyTest(t)
	bob := f.client("bob", approverGroups)
	for path, want := range map[string]struct {
		status int
		text   string
	}{
		"/dashboard?cursor=garbage": {http.StatusUnprocessableEntity, "Malformed page cursor."},
		"/requests/999999":          {http.StatusNotFound, "There is nothing here. It may have been removed, or the link is mistyped."},
	} {
		r := bob.get(path)
		if r.status != want.status || !strings.Contains(r.body, want.text) {
			t.Errorf("%s: %d, want %d with %q\n%s", path, r.status, want.status, want.text, r.body)
		}
	}
}
