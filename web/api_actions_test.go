package web

import (
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
)

// The decisions follow the same rules as the pages: no self-approval,
// approvers only, pending only.
func TestAPIApproveReject(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "decide-me")
	approve := func(as string, body any) resp {
		return env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: as, body: body})
	}
	r := approve(asAlice, map[string]any{"comment": "mine"})
	wantStatus(t, r, 403)
	if p := r.problem(t); !strings.Contains(p.Detail, "own request") {
		t.Errorf("self-approval detail: %q", p.Detail)
	}
	wantStatus(t, approve(asErin, map[string]any{"comment": "me too"}), 403)
	wantStatus(t, approve(asBob, map[string]any{"comment": "ok", "version": 2}), 409)
	wantStatus(t, approve(asBob, map[string]any{"comment": "ok", "extra": 1}), 422)
	wantStatus(t, approve(asBob, strings.Repeat("x", 10)), 400)
	r = approve(asBob, map[string]any{"comment": "looks right"})
	wantStatus(t, r, 200)
	v := r.detail(t)
	if v.Status != store.StatusApproved || len(v.Decisions) != 1 || v.Decisions[0].Approver != "bob" || v.Decisions[0].Decision != "approve" {
		t.Fatalf("after approval: %+v", v)
	}
	r = approve(asDave, map[string]any{"comment": "late"})
	wantStatus(t, r, 409)
	if p := r.problem(t); !strings.Contains(p.Detail, "approved") {
		t.Errorf("state conflict detail: %q", p.Detail)
	}
	wantStatus(t, approve(asBob, nil), 409)

	id2 := env.create(asErin, "reject-me")
	rj := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/reject", id2), as: asAlice, body: map[string]any{"comment": "no"}})
	wantStatus(t, rj, 403) // another requester
	rj = env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/reject", id2), as: asCarol, body: map[string]any{"comment": "too broad"}})
	wantStatus(t, rj, 200)
	rj.json(t, &v)
	if v.Status != store.StatusRejected {
		t.Fatalf("after rejection: %s", v.Status)
	}
	wantStatus(t, env.do(req{method: "POST", path: "/api/v1/requests/424242/approve", as: asBob, body: map[string]any{}}), 404)
}

// TestAPIApproveLongerExpiryIsAFieldError: an approval that would
// lengthen the expiry asked for is refused at expires_at, as an expiry in
// the past is, naming the expiry asked for; it was a 422 without errors
// whose detail gave the lifetime as a Go duration ("asked for
// 719h59m59s").
func TestAPIApproveLongerExpiryIsAFieldError(t *testing.T) {
	env := setupAPI(t)
	asked := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	body := spec("asks-a-month")
	body["expires_at"] = asked.Format(time.RFC3339)
	created := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body})
	wantStatus(t, created, 201)
	id := created.detail(t).ID
	r := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob,
		body: map[string]any{"version": 1, "expires_at": asked.Add(24 * time.Hour).Format(time.RFC3339)}})
	wantStatus(t, r, 422)
	p := r.problem(t)
	want := "approvers may shorten the expiry, not lengthen it (the request asks for " + asked.Format(time.RFC3339) + ")"
	if len(p.Errors) != 1 || p.Errors[0].Field != "expires_at" || p.Errors[0].Message != want {
		t.Fatalf("problem %+v, want one error at expires_at saying %q", p, want)
	}
}

func TestAPICancelRevokeRetryChange(t *testing.T) {
	env := setupAPI(t)
	act := func(as, action string, id int64, body any) resp {
		return env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/%s", id, action), as: as, body: body})
	}
	// Cancel: the requester, while pending.
	id := env.create(asAlice, "cancel-me")
	wantStatus(t, act(asErin, "cancel", id, nil), 403)
	wantStatus(t, act(asCarol, "cancel", id, nil), 403)
	wantStatus(t, act(asAlice, "cancel", id, `{"why": 1}`), 422)
	wantStatus(t, act(asAlice, "cancel", id, nil), 200)
	wantStatus(t, act(asAlice, "cancel", id, map[string]any{}), 409)

	// Change: the requester of an active role; it goes back to pending.
	id = env.create(asAlice, "change-me")
	wantStatus(t, act(asAlice, "changes", id, spec("change-me")), 409) // still pending
	env.activate(id)
	changed := spec("change-me")
	changed["buckets"] = []map[string]any{{"bucket": "example-bucket", "access": "read"}}
	wantStatus(t, act(asErin, "changes", id, changed), 403)
	wantStatus(t, act(asAlice, "changes", id, spec("renamed")), 422)
	r := act(asAlice, "changes", id, changed)
	wantStatus(t, r, 201)
	v := r.detail(t)
	if v.Version != 2 || v.Status != store.StatusPending || v.LiveVersion != 1 || len(v.Versions) != 2 {
		t.Fatalf("after change: %+v", v)
	}
	wantStatus(t, act(asAlice, "cancel", id, nil), 200) // drops the change; the role stays

	// Revoke: the owner or an admin, while active.
	wantStatus(t, act(asErin, "revoke", id, nil), 403)
	wantStatus(t, act(asBob, "revoke", id, nil), 403)
	wantStatus(t, act(asAlice, "revoke", id, nil), 200)
	wantStatus(t, act(asAlice, "revoke", id, nil), 409)
	id2 := env.create(asErin, "admin-revokes")
	env.activate(id2)
	r = act(asCarol, "revoke", id2, nil)
	wantStatus(t, r, 200)
	r.json(t, &v)
	if v.Status != store.StatusRevoking {
		t.Fatalf("revoke: %s", v.Status)
	}

	// Retry: admins, failed requests only.
	id3 := env.create(asAlice, "fail-me")
	wantStatus(t, act(asCarol, "retry", id3, nil), 409)
	wantStatus(t, act(asBob, "approve", id3, nil), 200)
	if err := env.db.FailProvisioning(ctxT(t), id3, 1, "AccessDenied: not allowed"); err != nil {
		t.Fatal(err)
	}
	for _, as := range []string{asAlice, asErin, asBob} {
		wantStatus(t, act(as, "retry", id3, nil), 403)
	}
	r = act(asCarol, "retry", id3, nil)
	wantStatus(t, r, 200)
	r.json(t, &v)
	if v.Status != store.StatusApproved {
		t.Fatalf("retry: %s", v.Status)
	}
}

func TestAPIEvents(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asErin, "audited")
	env.create(asAlice, "other")
	list := func(as, q string) resp {
		return env.do(req{method: "GET", path: "/api/v1/events" + q, as: as})
	}
	var page api.EventPage
	r := list(asBob, "?kind=request.submitted")
	wantStatus(t, r, 200)
	r.json(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("bob sees %d submissions", len(page.Items))
	}
	wantStatus(t, list(asCarol, ""), 200)
	wantStatus(t, list(asAlice, ""), 403)
	wantStatus(t, list(asAlice, "?actor=erin"), 403)
	r = list(asAlice, "?actor=alice")
	wantStatus(t, r, 200)
	page = api.EventPage{}
	r.json(t, &page)
	for _, e := range page.Items {
		if e.Actor != "alice" {
			t.Errorf("alice sees %+v", e)
		}
	}
	// A request's history follows the request's read rule: erin's is
	// hers (and approvers'), not alice's, not even filtered to her own
	// actions.
	wantStatus(t, list(asErin, pathf("?request_id=%d", id)), 200)
	wantStatus(t, list(asBob, pathf("?request_id=%d", id)), 200)
	wantStatus(t, list(asAlice, pathf("?request_id=%d", id)), 403)
	wantStatus(t, list(asAlice, pathf("?request_id=%d&actor=alice", id)), 403)
	wantStatus(t, list(asAlice, "?request_id=999999"), 404)
	// Paging with after.
	r = list(asBob, "?limit=1")
	page = api.EventPage{}
	r.json(t, &page)
	if len(page.Items) != 1 || page.NextAfter == 0 {
		t.Fatalf("first page: %+v", page)
	}
	r = list(asBob, pathf("?limit=1&after=%d", page.NextAfter))
	wantStatus(t, r, 200)
	for _, q := range []string{"?since=never", "?limit=5000", "?request_id=x", "?colour=1", "?request_id=+1", "?request_id=01", "?after=01", "?request_id=0"} {
		wantStatus(t, list(asBob, q), 400)
	}
}

// TestAPIApproveNamesTheVersionOfAChange: an approver reads a change, the
// requester cancels it and submits a wider one in its place, and the
// approver's approve, sent without a version, approved the wider one
// unseen. Once a request has more than one version the API refuses a
// decision that does not name the version it decides; a first version
// may still leave it out (it has never held another).
func TestAPIApproveNamesTheVersionOfAChange(t *testing.T) {
	env := setupAPI(t)
	act := func(as, action string, id int64, body any) resp {
		return env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/%s", id, action), as: as, body: body})
	}
	id := env.create(asAlice, "change-under-review")
	env.activate(id)
	read := spec("change-under-review")
	read["buckets"] = []map[string]any{{"bucket": "example-bucket", "access": "read"}}
	wantStatus(t, act(asAlice, "changes", id, read), 201) // version 2: what bob reads
	wantStatus(t, act(asAlice, "cancel", id, nil), 200)
	wider := spec("change-under-review")
	wider["buckets"] = []map[string]any{{"bucket": "example-bucket", "access": "read-write"}}
	wantStatus(t, act(asAlice, "changes", id, wider), 201) // version 3, put in its place

	r := act(asBob, "approve", id, map[string]any{"comment": "reads only, fine"})
	wantStatus(t, r, 422)
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "version" || !strings.Contains(p.Errors[0].Message, "the current is 3") {
		t.Fatalf("approve without a version: %+v", p)
	}
	wantStatus(t, act(asBob, "reject", id, map[string]any{}), 422)
	wantStatus(t, act(asBob, "approve", id, map[string]any{"version": 2}), 409)
	got := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asBob}).detail(t)
	if got.Status != store.StatusPending || got.Version != 3 || len(got.Decisions) != 0 {
		t.Fatalf("after the refused decisions: %s at version %d with %d decisions", got.Status, got.Version, len(got.Decisions))
	}
	wantStatus(t, act(asBob, "approve", id, map[string]any{"version": 3, "comment": "read-write, seen"}), 200)

	// Someone who may not read the request learns nothing of its versions:
	// asked without one, they are refused as for any request they may not
	// read, not told the current version.
	r = act(asErin, "approve", id, map[string]any{})
	wantStatus(t, r, 403)
	if strings.Contains(string(r.body), "the current is") {
		t.Errorf("a decision by someone who may not read the request tells its version: %s", r.body)
	}
}
