package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestActionsByCaller(t *testing.T) {
	f := uiProxyTest(t)
	alice, erin := f.client("alice", ""), f.client("erin", "")
	bob, carol := f.client("bob", approverGroups), f.client("carol", adminGroups)
	status := func(id int64) store.Status {
		t.Helper()
		r, err := f.db.GetRequest(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	decide := func(c *uiClient, id int64, verdict string) uiResponse {
		return c.post(fmt.Sprintf("/requests/%d/decide", id), url.Values{"version": {"1"}, "decision": {verdict}, "comment": {"looks fine"}})
	}

	// The requester cannot approve their own request, even as an approver.
	own := uiCreate(t, f.db, uiNewReq("bobs-own", "bob"))
	if r := decide(bob, own.ID, "approve"); r.status != http.StatusForbidden || !strings.Contains(r.body, "your own request") {
		t.Errorf("bob approves his own: %d", r.status)
	}
	// Requesters cannot decide; approvers can, and the page says so.
	req := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	if r := decide(erin, req.ID, "approve"); r.status != http.StatusForbidden {
		t.Errorf("erin approves: %d", r.status)
	}
	bob.get("/dashboard")
	r := bob.follow(fmt.Sprintf("/requests/%d/decide", req.ID), url.Values{"version": {"1"}, "decision": {"approve"},
		"comment": {"ok for reports"}, "return": {"/dashboard"}})
	pageHas(t, r, "<title>Approver dashboard", "flash-ok", "Approved request #")
	if s := status(req.ID); s != store.StatusApproved {
		t.Fatalf("after approval: %s", s)
	}
	// A second decision finds the state changed: a flash, not a crash.
	r = carol.follow(fmt.Sprintf("/requests/%d/decide", req.ID), url.Values{"version": {"1"}, "decision": {"reject"}})
	pageHas(t, r, "flash-error", "cannot be decided")
	pageHas(t, alice.get(fmt.Sprintf("/requests/%d", req.ID)), "ok for reports", "approved")

	// Cancel: only the requester.
	c := uiCreate(t, f.db, uiNewReq("to-cancel", "alice"))
	if r := bob.post(fmt.Sprintf("/requests/%d/cancel", c.ID), nil); r.status != http.StatusForbidden {
		t.Errorf("bob cancels alice's: %d", r.status)
	}
	pageHas(t, alice.follow(fmt.Sprintf("/requests/%d/cancel", c.ID), nil), "cancelled")
	if s := status(c.ID); s != store.StatusCancelled {
		t.Errorf("after cancel: %s", s)
	}

	// Revoke: the owner or an admin; the detail page offers it only to them.
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("live-one", "alice")))
	page := fmt.Sprintf("/requests/%d", live.ID)
	alicePage := alice.get(page)
	pageHas(t, alicePage, `id="action-revoke"`, "Request a change")
	textHas(t, alicePage, live.RoleARN)
	pageLacks(t, bob.get(page), `id="action-revoke"`, "Request a change")
	pageHas(t, carol.get(page), `id="action-revoke"`)
	if r := bob.post(page+"/revoke", nil); r.status != http.StatusForbidden {
		t.Errorf("bob revokes: %d", r.status)
	}

	// Change: the owner submits a new version; errors stay at their fields.
	alice.get(page + "/change")
	bad := url.Values{"name": {"live-one"}, "justification": {"more buckets"}, "bucket": {"team-reports", "x"},
		"prefix": {"daily/", ""}, "access": {"read", "read"}}
	if r := alice.post(page+"/change", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="f-bucket-1-error"`) {
		t.Errorf("bad change = %d", r.status)
	}
	bad.Set("bucket", "team-archive")
	bad["bucket"] = []string{"team-reports", "team-archive"}
	pageHas(t, alice.follow(page+"/change", bad), "Change to live-one submitted", "asked for a change")
	if s := status(live.ID); s != store.StatusPending {
		t.Errorf("after change: %s", s)
	}

	live2 := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("live-two", "erin")))
	pageHas(t, carol.follow(fmt.Sprintf("/requests/%d/revoke", live2.ID), nil), "Revoking request")
	if s := status(live2.ID); s != store.StatusRevoking {
		t.Errorf("after revoke: %s", s)
	}

	// Retry: admins only, failed requests only.
	failed := uiCreate(t, f.db, uiNewReq("will-fail", "erin"))
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, failed.ID, 1, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.FailProvisioning(f.ctx, failed.ID, 1, "AccessDenied: iam:CreateRole"); err != nil {
		t.Fatal(err)
	}
	fp := fmt.Sprintf("/requests/%d", failed.ID)
	pageHas(t, erin.get(fp), "AccessDenied: iam:CreateRole")
	pageLacks(t, erin.get(fp), `id="action-retry"`)
	if r := erin.post(fp+"/retry", nil); r.status != http.StatusForbidden {
		t.Errorf("erin retries: %d", r.status)
	}
	pageHas(t, carol.get(fp), `id="action-retry"`)
	pageHas(t, carol.follow(fp+"/retry", nil), "Retrying request")
	if s := status(failed.ID); s != store.StatusApproved {
		t.Errorf("after retry: %s", s)
	}
	// Signed-out browsers cannot act.
	anon := f.client("", "")
	anon.get("/")
	if r := anon.post(fp+"/retry", url.Values{"csrf": {"none"}}); r.status != http.StatusForbidden {
		t.Errorf("signed out retries: %d", r.status)
	}
}

func TestDashboardQueue(t *testing.T) {
	f := uiProxyTest(t)
	for i := range pageSize + 2 {
		who := "alice"
		if i == 1 {
			who = "bob"
		}
		uiCreate(t, f.db, uiNewReq(fmt.Sprintf("role-%03d", i), who,
			provision.BucketScope{Bucket: fmt.Sprintf("bucket-%d", i%3), Access: provision.AccessRead}))
	}
	bob := f.client("bob", approverGroups)
	r := bob.get("/dashboard")
	// Oldest first; bob's own request is marked and has no decide form.
	if i, j := strings.Index(r.body, "role-000"), strings.Index(r.body, "role-002"); i < 0 || j < i {
		t.Errorf("queue is not oldest first")
	}
	pageHas(t, r, "your request", `<span class="count">52</span>`, `rel="next"`)
	own := r.body[strings.Index(r.body, `role-001`):]
	own = own[:strings.Index(own, "</li>")]
	if strings.Contains(own, "Approve") || !strings.Contains(own, "your request") {
		t.Errorf("bob's own request row: %s", own)
	}
	m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no next page link")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	p2 := bob.get(next)
	pageHas(t, p2, "role-050", "role-051", "First page")
	pageLacks(t, p2, "role-049", `rel="next"`)

	pageHas(t, bob.get("/dashboard?status=pending&bucket=bucket-1"), "role-001", "role-004")
	pageLacks(t, bob.get("/dashboard?status=pending&bucket=bucket-1"), "role-000", "role-002")
	pageHas(t, bob.get("/dashboard?status=pending&requester=bob"), "role-001")
	pageLacks(t, bob.get("/dashboard?status=pending&requester=bob"), "role-000")
	pageHas(t, bob.get("/dashboard?status=all&q=ROLE-02"), "role-020", "role-029")
	pageLacks(t, bob.get("/dashboard?status=all&q=ROLE-02"), "role-030")
	// Search reads scopes as bucket/prefix too.
	pageHas(t, bob.get("/dashboard?status=all&q=BUCKET-2/"), "role-002", "role-050")
	pageLacks(t, bob.get("/dashboard?status=all&q=BUCKET-2/"), "role-001", "role-003")
	pageHas(t, bob.get("/dashboard?status=active"), "No requests match")
	if r := bob.get("/dashboard?cursor=garbage"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor = %d", r.status)
	}
}

// A change that keeps a live grant under a narrower prefix is shown as
// narrowing it, not as removing it.
func TestChangePageSaysWhatItNarrows(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("narrow-me", "alice"))) // read on team-reports/daily/
	page := fmt.Sprintf("/requests/%d", live.ID)
	narrower := url.Values{"name": {"narrow-me"}, "justification": {"one team is enough"}, "bucket": {"team-reports"},
		"prefix": {"daily/eu/"}, "access": {"read"}}
	r := alice.follow(page+"/change", narrower)
	textHas(t, r, "Change to narrow-me submitted",
		"Narrows: list keys under `daily/` in `team-reports` to `team-reports/daily/eu/`; read objects under `team-reports/daily/` to `team-reports/daily/eu/`")
	pageLacks(t, r, "<strong>Removes:</strong>")
}

// The change form's Cancel leads back to the role's request page, where
// the user came from, not to the list of their requests; the new-request
// form's leads to the list.
func TestChangeFormCancelGoesBackToTheRole(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("keep-me", "alice")))
	page := fmt.Sprintf("/requests/%d", live.ID)
	pageHas(t, alice.get(page+"/change"), `<a href="`+page+`" class="btn">Cancel</a>`)
	pageHas(t, alice.get("/requests/new"), `<a href="/requests" class="btn">Cancel</a>`)
	// A refused change keeps its Cancel too.
	r := alice.post(page+"/change", url.Values{"name": {"keep-me"}, "justification": {""}, "bucket": {"team-reports"}, "prefix": {""}, "access": {"read"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a change without a justification answered %d", r.status)
	}
	pageHas(t, r, `<a href="`+page+`" class="btn">Cancel</a>`)
}

// Cancelling the pending change of a live role says it is the change that
// is cancelled and that the role keeps its access, on the button and
// after; cancelling a new request still says the request is.
func TestCancelAChangeSaysTheRoleStays(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("keep-me", "alice")))
	page := fmt.Sprintf("/requests/%d", live.ID)
	r := alice.follow(page+"/change", url.Values{"name": {"keep-me"}, "justification": {"the exports too"},
		"bucket": {"team-reports", "team-exports"}, "prefix": {"daily/", ""}, "access": {"read", "read"}})
	textHas(t, r, "Change to keep-me submitted")
	pageHas(t, r, `id="action-cancel">Cancel change</button>`)
	r = alice.follow(page+"/cancel", url.Values{})
	textHas(t, r, fmt.Sprintf("Change to request #%d cancelled; the role keeps its current access.", live.ID))
	if got, err := f.db.GetRequest(uiCtx(t), live.ID); err != nil || got.Status != store.StatusActive {
		t.Fatalf("after cancelling the change: %s, %v", got.Status, err)
	}
	// The live role's page says the change was cancelled, not the request.
	textHas(t, alice.get(page), "change to version 2 cancelled by alice")
	pageLacks(t, alice.get(page), `<p class="reason">cancelled by alice</p>`)

	pending := uiCreate(t, f.db, uiNewReq("new-one", "alice"))
	page = fmt.Sprintf("/requests/%d", pending.ID)
	pageHas(t, alice.get(page), `id="action-cancel">Cancel request</button>`)
	textHas(t, alice.follow(page+"/cancel", url.Values{}), fmt.Sprintf("Request #%d cancelled.", pending.ID))
}
