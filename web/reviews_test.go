package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/problem"
)

// uiReviewFixture is a server whose store reviews roles quarterly, on a
// clock the test moves (offset).
func uiReviewFixture(t *testing.T, policy store.ReviewPolicy) (*uiFixture, *atomic.Int64) {
	t.Helper()
	offset := &atomic.Int64{}
	db := storetest.Open(t, storetest.URL(t), store.Options{Reviews: policy,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	return uiServe(t, db, uiProxyIdentity()), offset
}

func TestReviewsPage(t *testing.T) {
	t.Parallel()
	f, offset := uiReviewFixture(t, quarterly)
	ctx := uiCtx(t)
	alice, erin := f.client("alice", ""), f.client("erin", "")
	bob, carol := f.client("bob", approverGroups), f.client("carol", adminGroups)
	mine := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-reader", "alice")))
	theirs := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("erins-reader", "erin")))
	confirm := fmt.Sprintf("/reviews/%d/confirm", mine.ID)

	r := alice.get("/reviews")
	pageHas(t, r, "<title>Access reviews", "Every 90 days", "reports-reader", "next review due", `href="/reviews"`, ">not due yet<")
	// Never reviewed yet: not called confirmed.
	pageLacks(t, r, "erins-reader", "Still needed", "Everyone's", ">confirmed<")

	offset.Add(int64(90 * day))
	if _, err := f.db.RemindReviews(ctx); err != nil {
		t.Fatal(err)
	}
	r = alice.get("/reviews")
	pageHas(t, r, "review due", "unless confirmed", "Still needed", "Let it go", `action="/reviews/`+fmt.Sprint(mine.ID)+`/confirm"`)
	pageLacks(t, r, "erins-reader")

	// A form without its CSRF token is refused.
	if r := alice.post(confirm, url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("a forged CSRF token: %d", r.status)
	}
	// Someone who may not read the request gets the page reading it gives.
	if r := erin.post(confirm, url.Values{"note": {"mine"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, problem.ForbiddenView[:40]) {
		t.Fatalf("erin confirms alice's: %d\n%s", r.status, pageExcerpt(r.body))
	}
	if r := bob.post(confirm, nil); r.status != http.StatusForbidden || !strings.Contains(r.body, "owner or an admin") {
		t.Fatalf("an approver confirms alice's: %d\n%s", r.status, pageExcerpt(r.body))
	}
	// Too long a note comes back at its field, kept.
	long := strings.Repeat("n", 1001)
	r = alice.post(confirm, url.Values{"note": {long}, "return": {"/reviews"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("too long a note: %d", r.status)
	}
	pageHas(t, r, "The note has 1001 characters; at most 1000 are kept", ">"+long+"</textarea>", `aria-invalid="true"`)

	r = alice.follow(confirm, url.Values{"note": {"the nightly job still runs"}, "return": {"/reviews"}})
	pageHas(t, r, "flash-ok", "Confirmed: reports-reader stays. Its next review is due in 90 days.", "next review due")
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: mine.ID, Kind: store.EventReviewConfirmed})
	if err != nil || len(events) != 1 || events[0].Data["note"] != "the nightly job still runs" {
		t.Fatalf("confirmation events %+v, %v", events, err)
	}
	// Confirming again finds nothing due: news, not an error page.
	pageHas(t, alice.follow(confirm, url.Values{"return": {"/reviews"}}), "flash-error", "not due until")

	// Admins: the overdue count on the dashboard, everyone's reviews, and
	// letting a role go for its owner.
	pageHas(t, carol.get("/dashboard"), `id="reviews-overdue"`, "1 access review overdue")
	pageLacks(t, bob.get("/dashboard"), `id="reviews-overdue"`)
	r = carol.get("/reviews?all=1&state=due")
	pageHas(t, r, "erins-reader", "owned by <strong>erin</strong>")
	pageLacks(t, r, "reports-reader")
	r = carol.follow(fmt.Sprintf("/reviews/%d/let-go", theirs.ID), url.Values{"note": {"erin left"}, "return": {"/reviews?all=1&state=due"}})
	pageHas(t, r, "flash-ok", "Let go: erins-reader is being removed.", "No live roles to review")
	if got, err := f.db.GetRequest(ctx, theirs.ID); err != nil || got.Status != store.StatusRevoking {
		t.Fatalf("after letting go: %s, %v", got.Status, err)
	}
	pageHas(t, carol.get("/dashboard"), "0 access reviews overdue")
	// The owner lists only their own, even asking for everyone's.
	pageLacks(t, erin.get("/reviews?all=1"), "reports-reader")
}

func TestReviewsPageWhenOff(t *testing.T) {
	t.Parallel()
	f, _ := uiReviewFixture(t, store.ReviewPolicy{})
	r := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-reader", "alice")))
	alice := f.client("alice", "")
	pageHas(t, alice.get("/reviews"), `id="reviews-off"`, "Access reviews are off")
	if got := alice.follow(fmt.Sprintf("/reviews/%d/confirm", r.ID), nil); !strings.Contains(got.body, `flash flash-error" role="status">Access reviews are off on this server.`) {
		t.Fatalf("confirming with reviews off:\n%s", pageExcerpt(got.body))
	}
	pageLacks(t, f.client("carol", adminGroups).get("/dashboard"), `id="reviews-overdue"`)
}
