package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// Data owners who are not approvers reach the dashboard and see only the
// requests routed to their group; plain requesters do not reach it.
func TestDashboardShowsDataOwnersTheirRoutedRequests(t *testing.T) {
	t.Parallel()
	rules := store.ApprovalRules{Routes: []store.Route{{Pattern: "fin-*", Group: "finance"}}}
	db := storetest.Open(t, storetest.URL(t), store.Options{Rules: rules})
	f := uiServe(t, db, uiProxyIdentity())
	ctx := uiCtx(t)
	mk := func(name, bucket string) store.Request {
		r, err := db.CreateRequest(ctx, uiNewReq(name, "alice", provision.BucketScope{Bucket: bucket, Access: provision.AccessRead}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Request
	}
	routed := mk("ledger-reader", "fin-ledger")
	other := mk("logs-reader", "team-logs")

	owner := f.client("dana", "finance")
	r := owner.get("/dashboard")
	if r.status != http.StatusOK {
		t.Fatalf("data owner on the dashboard: %d", r.status)
	}
	if !strings.Contains(r.body, `href="/dashboard"`) {
		t.Error("the data owner's header has no link to the dashboard")
	}
	if !strings.Contains(r.body, fmt.Sprintf(`data-id="%d"`, routed.ID)) || strings.Contains(r.body, fmt.Sprintf(`data-id="%d"`, other.ID)) {
		t.Fatalf("data owner should see request %d only:\n%s", routed.ID, r.body)
	}
	// The counts per state are of what the data owner sees: one pending,
	// not the company's two.
	if !strings.Contains(r.body, `pending <span class="count">1</span>`) {
		t.Fatalf("data owner's pending count is not 1:\n%s", r.body)
	}
	approver := f.client("bob", "approvers")
	if r := approver.get("/dashboard"); r.status != http.StatusOK || !strings.Contains(r.body, fmt.Sprintf(`data-id="%d"`, other.ID)) ||
		!strings.Contains(r.body, `pending <span class="count">2</span>`) {
		t.Fatalf("approver should see the whole queue: %d", r.status)
	}
	if r := f.client("erin", "staff").get("/dashboard"); r.status != http.StatusForbidden {
		t.Fatalf("plain requester on the dashboard: %d, want 403", r.status)
	}
	if r := f.client("erin", "staff").get("/requests"); strings.Contains(r.body, `href="/dashboard"`) {
		t.Error("a plain requester's header links to the dashboard")
	}
}
