package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
)

const day = 24 * time.Hour

var quarterly = store.ReviewPolicy{Interval: 90 * day, Grace: 14 * day}

func (env *apiEnv) reviews(as, query string) api.ReviewPage {
	env.t.Helper()
	r := env.do(req{method: "GET", path: "/api/v1/reviews" + query, as: as})
	if r.StatusCode != http.StatusOK {
		env.t.Fatalf("GET /api/v1/reviews%s as %s: %d %s", query, as, r.StatusCode, r.body)
	}
	var page api.ReviewPage
	r.json(env.t, &page)
	return page
}

func TestAPIReviews(t *testing.T) {
	env := setupAPIWith(t, api.Limits{}, store.Options{Reviews: quarterly})
	id := env.create(asAlice, "reports-reader")
	env.activate(id)
	confirm := pathf("/api/v1/reviews/%d/confirm", id)

	page := env.reviews(asAlice, "")
	if !page.Enabled || len(page.Items) != 1 || page.Items[0].RequestID != id || page.Items[0].State != store.ReviewUpcoming || page.Items[0].Owner != "alice" {
		t.Fatalf("alice's reviews: %+v", page)
	}
	if r := env.do(req{method: "POST", path: confirm, as: asAlice}); r.StatusCode != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "not due until") {
		t.Fatalf("confirming before due: %d %s", r.StatusCode, r.body)
	}

	env.offset.Add(int64(90 * day))
	if got := env.reviews(asBob, "?state=due"); len(got.Items) != 1 || got.Items[0].State != store.ReviewDue {
		t.Fatalf("bob's due reviews: %+v", got)
	}
	if got := env.reviews(asErin, ""); len(got.Items) != 0 {
		t.Fatalf("erin lists someone else's reviews: %+v", got)
	}
	for _, tc := range []struct {
		name, as, path string
		body           any
		status         int
		says           string
	}{
		{"a requester naming another owner", asErin, "/api/v1/reviews?owner=alice", nil, http.StatusForbidden, "their own roles only"},
		{"an unknown state", asBob, "/api/v1/reviews?state=late", nil, http.StatusBadRequest, "see errors"},
		{"an unknown parameter", asBob, "/api/v1/reviews?sort=due", nil, http.StatusBadRequest, "see errors"},
		{"a foreign cursor", asBob, "/api/v1/reviews?cursor=abc", nil, http.StatusBadRequest, "cursor"},
		{"an approver who may read the request", asBob, confirm, nil, http.StatusForbidden, "owner or an admin"},
		{"a note too long", asAlice, confirm, map[string]any{"note": strings.Repeat("x", 1001)}, http.StatusUnprocessableEntity, "see errors"},
		{"an unknown field", asAlice, confirm, map[string]any{"comment": "x"}, http.StatusUnprocessableEntity, ""},
		{"no such request", asAlice, "/api/v1/reviews/999999/let-go", nil, http.StatusNotFound, ""},
		{"no token", asNobody, confirm, nil, http.StatusUnauthorized, ""},
	} {
		method := "POST"
		if strings.HasPrefix(tc.path, "/api/v1/reviews?") {
			method = "GET"
		}
		r := env.do(req{method: method, path: tc.path, as: tc.as, body: tc.body})
		if r.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.StatusCode, r.body, tc.status)
			continue
		}
		if p := r.problem(t); !strings.Contains(p.Detail, tc.says) {
			t.Errorf("%s: %q, want it to say %q", tc.name, p.Detail, tc.says)
		}
	}
	long := env.do(req{method: "POST", path: confirm, as: asAlice, body: map[string]any{"note": strings.Repeat("é", 1001)}}).problem(t)
	if len(long.Errors) != 1 || long.Errors[0].Field != "note" || !strings.Contains(long.Errors[0].Message, "1001 characters; at most 1000") {
		t.Fatalf("too long a note: %+v", long.Errors)
	}

	// Someone who may not read the request gets exactly what reading it
	// would answer.
	view := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asErin}).problem(t)
	for _, path := range []string{confirm, pathf("/api/v1/reviews/%d/let-go", id)} {
		got := env.do(req{method: "POST", path: path, as: asErin, body: map[string]any{"note": "mine now"}}).problem(t)
		if got.Status != view.Status || got.Type != view.Type || got.Detail != view.Detail {
			t.Errorf("%s as erin: %+v; want the answer to reading the request: %+v", path, got, view)
		}
	}

	r := env.do(req{method: "POST", path: confirm, as: asAlice, body: map[string]any{"note": "the nightly job still runs"}})
	var rv api.ReviewView
	r.json(t, &rv)
	if r.StatusCode != http.StatusOK || rv.State != store.ReviewUpcoming || rv.DueAt.Before(time.Now().Add(179*day)) {
		t.Fatalf("confirm: %d %+v", r.StatusCode, rv)
	}
	events := env.do(req{method: "GET", path: pathf("/api/v1/events?request_id=%d&kind=review.confirmed", id), as: asAlice})
	if !strings.Contains(string(events.body), `"note":"the nightly job still runs"`) {
		t.Fatalf("the confirmation in the audit trail: %s", events.body)
	}

	// An admin lets it go: the role is revoked as by /revoke.
	r = env.do(req{method: "POST", path: pathf("/api/v1/reviews/%d/let-go", id), as: asCarol, body: map[string]any{"note": "alice left"}})
	d := r.detail(t)
	if r.StatusCode != http.StatusOK || d.Status != store.StatusRevoking {
		t.Fatalf("let go: %d %s", r.StatusCode, r.body)
	}
	if r := env.do(req{method: "POST", path: confirm, as: asAlice}); r.StatusCode != http.StatusConflict {
		t.Fatalf("confirming a role being revoked: %d %s", r.StatusCode, r.body)
	}
}

func TestAPIReviewsOff(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "reports-reader")
	env.activate(id)
	if page := env.reviews(asAlice, ""); page.Enabled || len(page.Items) != 0 {
		t.Fatalf("reviews off: %+v", page)
	}
	r := env.do(req{method: "POST", path: pathf("/api/v1/reviews/%d/let-go", id), as: asAlice})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "off") {
		t.Fatalf("let go with reviews off: %d %s", r.StatusCode, r.body)
	}
}
