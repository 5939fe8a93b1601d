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

// A review interval shorter than a day reads as people say it, on the
// page and in the confirmation, not as a Go duration.
func TestReviewsPageSaysHourlyIntervals(t *testing.T) {
	t.Parallel()
	f, offset := uiReviewFixture(t, store.ReviewPolicy{Interval: time.Hour, Grace: 12 * time.Hour})
	r := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-reader", "alice")))
	alice := f.client("alice", "")
	page := alice.get("/reviews")
	textHas(t, page, "Every hour each live role comes up for review", "revoked 12 hours after the reminder")
	pageLacks(t, page, "1h0m0s", "12h0m0s")

	offset.Add(int64(time.Hour))
	if _, err := f.db.RemindReviews(uiCtx(t)); err != nil {
		t.Fatal(err)
	}
	got := alice.follow(fmt.Sprintf("/reviews/%d/confirm", r.ID), url.Values{"return": {"/reviews"}})
	textHas(t, got, "Confirmed: reports-reader stays. Its next review is due in 1 hour.")
}

func TestDurationWords(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d           time.Duration
		words, each string
	}{
		{time.Hour, "1 hour", "every hour"},
		{12 * time.Hour, "12 hours", "every 12 hours"},
		{day, "1 day", "every day"},
		{2 * day, "2 days", "every 2 days"},
		{90 * day, "90 days", "every 90 days"},
		{day + 6*time.Hour, "1 day and 6 hours", "every 1 day and 6 hours"},
		{90*time.Minute + 0, "1 hour and 30 minutes", "every 1 hour and 30 minutes"},
		{day + time.Hour + time.Minute + time.Second, "1 day, 1 hour, 1 minute and 1 second", "every 1 day, 1 hour, 1 minute and 1 second"},
		{time.Minute, "1 minute", "every minute"},
		{30 * time.Second, "30 seconds", "every 30 seconds"},
		{1500 * time.Millisecond, "1 second", "every second"},
	} {
		if got := durationWords(tt.d); got != tt.words {
			t.Errorf("durationWords(%s) = %q, want %q", tt.d, got, tt.words)
		}
		if got := everyWords(tt.d); got != tt.each {
			t.Errorf("everyWords(%s) = %q, want %q", tt.d, got, tt.each)
		}
	}
}

// A refused note on a review the page shows no form for (not due yet, or
// answered or gone since the page was loaded) is said at the top of the
// page, naming the role, instead of nowhere.
func TestReviewNoteRefusedWithoutForm(t *testing.T) {
	t.Parallel()
	f, offset := uiReviewFixture(t, quarterly)
	alice := f.client("alice", "")
	r := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-reader", "alice")))
	confirm := fmt.Sprintf("/reviews/%d/confirm", r.ID)
	long := strings.Repeat("é", 1001)

	// Not due yet: the page lists the review without a form.
	got := alice.post(confirm, url.Values{"note": {long}, "return": {"/reviews"}})
	if got.status != http.StatusUnprocessableEntity {
		t.Fatalf("too long a note on a review not due: %d", got.status)
	}
	textHas(t, got, "Nothing was saved for reports-reader: the note has 1001 characters; at most 1000 are kept")
	pageHas(t, got, `id="reviews-error"`, `role="alert"`)

	// Due, and on the page with its form: the message stands at the field
	// only, not twice.
	offset.Add(int64(90 * day))
	if _, err := f.db.RemindReviews(uiCtx(t)); err != nil {
		t.Fatal(err)
	}
	pageHas(t, alice.get("/reviews"), "Still needed")
	got = alice.post(confirm, url.Values{"note": {long}, "return": {"/reviews"}})
	pageHas(t, got, "The note has 1001 characters", `aria-invalid="true"`)
	pageLacks(t, got, `id="reviews-error"`, "Nothing was saved")

	// Answered meanwhile, from another tab: the stale form's refused note
	// is said at the top again.
	pageHas(t, alice.follow(confirm, url.Values{"return": {"/reviews"}}), "flash-ok")
	got = alice.post(confirm, url.Values{"note": {long}, "return": {"/reviews"}})
	textHas(t, got, "Nothing was saved for reports-reader: the note has 1001 characters")
}

// An owner who lost the requester role (moved out of its groups) may let
// their role go but not keep it: the page offers no "Still needed", and a
// confirmation sent anyway is refused. Their confirmation kept the role
// alive review after review.
func TestReviewOwnerWithoutRequesterRoleCannotKeep(t *testing.T) {
	t.Parallel()
	offset := &atomic.Int64{}
	db := storetest.Open(t, storetest.URL(t), store.Options{Reviews: quarterly,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	id := uiProxyIdentity()
	id.Roles.Requester = []string{"requesters"}
	f := uiServe(t, db, id)
	mine := uiActivate(t, db, uiCreate(t, db, uiNewReq("reports-reader", "alice")))
	offset.Add(int64(90 * day))
	if _, err := db.RemindReviews(uiCtx(t)); err != nil {
		t.Fatal(err)
	}
	pageHas(t, f.client("alice", "requesters").get("/reviews"), "Still needed", "Let it go")

	moved := f.client("alice", approverGroups)
	r := moved.get("/reviews")
	pageHas(t, r, "reports-reader", "Let it go", `data-testid="cannot-keep"`)
	pageLacks(t, r, "Still needed")
	if r := moved.post(fmt.Sprintf("/reviews/%d/confirm", mine.ID), url.Values{"return": {"/reviews"}}); r.status != http.StatusForbidden ||
		!strings.Contains(r.body, "no longer hold the requester role") {
		t.Fatalf("a confirmation sent anyway: %d\n%s", r.status, pageExcerpt(r.body))
	}
}
