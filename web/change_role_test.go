package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestChangeNeedsTheRequesterRole: asking for a change of a role is asking
// for access, which only the requester role may (the API refuses a token
// without it). An owner who no longer holds that role (their identity
// provider took them out of the requester groups) is offered no change
// and refused one, on the page as in the API, while they may still revoke
// the role.
func TestChangeNeedsTheRequesterRole(t *testing.T) {
	env := secSetup(t)
	r := env.fixture("active")
	// alice, now an approver only.
	alice := env.ui.client("alice", "approvers")
	change := pathf("/requests/%d/change", r.ID)

	page := alice.get(pathf("/requests/%d", r.ID))
	if page.status != http.StatusOK {
		t.Fatalf("alice's request page: %d", page.status)
	}
	pageLacks(t, page, `href="`+change+`"`)
	pageHas(t, page, pathf("/requests/%d/revoke", r.ID))

	if got := alice.get(change); got.status != http.StatusForbidden {
		t.Errorf("GET the change form: %d, want 403", got.status)
	} else {
		pageHas(t, got, "requester role")
	}
	form := url.Values{"name": {r.Spec.Name}, "description": {"reads reports"}, "justification": {"now everything"},
		"bucket": {"owned-reports"}, "prefix": {""}, "access": {"read-write"}}
	if got := alice.post(change, form); got.status != http.StatusForbidden {
		t.Errorf("POST a change: %d, want 403", got.status)
	}
	preview := alice.post("/requests/preview", url.Values{"name": {r.Spec.Name}, "change_of": {pathf("%d", r.ID)},
		"bucket": {"owned-reports"}, "access": {"read"}})
	pageHas(t, preview, "already requested or live")

	got, err := env.db.GetRequest(ctxT(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusActive || got.Version != r.Version {
		t.Fatalf("after the refused change the request is %s at version %d, want active at %d", got.Status, got.Version, r.Version)
	}

	// The API says the same of a token of hers without the role.
	env.api.addToken("alice approver", store.NewToken{User: "alice", Roles: []store.Role{store.RoleApprover}})
	v := env.api.do(req{method: "GET", path: pathf("/api/v1/requests/%d", r.ID), as: "alice approver"}).detail(t)
	if slices.Contains(v.Actions, "change") || !slices.Contains(v.Actions, "revoke") {
		t.Errorf("actions of alice's approver token: %v, want revoke and no change", v.Actions)
	}
	// The store refuses it too, whoever asks.
	_, err = env.db.RequestChange(ctxT(t), store.Actor{Name: "alice", Roles: []store.Role{store.RoleApprover}}, r.ID,
		store.NewVersion{Spec: r.Spec, Justification: "again"})
	if !errors.Is(err, store.ErrForbidden) {
		t.Errorf("RequestChange by alice without the requester role: %v, want forbidden", err)
	}
}
