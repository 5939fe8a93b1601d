package web

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/auth"
)

// TestBrowserReviewConfirmWithNote: alice's role comes up for review; on
// the Reviews page she confirms it is still needed with a note, and the
// page shows the next review instead of the form. Screenshots go to
// testoutput/.
func TestBrowserReviewConfirmWithNote(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	f, r := reviewDue(t, "alice")
	id := strconv.FormatInt(r.ID, 10)
	item := `[data-review="` + id + `"]`

	b.signInAs(f.srv.URL, "alice")
	b.run("alice opens her reviews",
		chromedp.Click(chromedp.Search(`//nav//a[.="Reviews"]`)),
		chromedp.WaitVisible(b.css(item+`[data-state="due"]`)),
		chromedp.SendKeys(b.css(`#note-`+id), "The nightly report job still reads these."),
		b.shot("reviews-1-due"),
	)
	if got := b.text(item + " .revoke-at"); !strings.Contains(got, "unless confirmed") {
		t.Fatalf("the due review says %q", got)
	}
	if status := b.submit("alice confirms", item+` button[aria-label^="Confirm"]`); status != 200 {
		t.Fatalf("after confirming: %d", status)
	}
	b.run("the review is confirmed",
		chromedp.WaitVisible(b.css(`.flash-ok`)),
		chromedp.WaitVisible(b.css(item+`[data-state="upcoming"]`)),
		b.shot("reviews-2-confirmed"),
	)
	if flash := b.text(".flash-ok"); !strings.Contains(flash, "Confirmed: reports-reader stays") {
		t.Fatalf("flash %q", flash)
	}
	if n := b.count(item + " form"); n != 0 {
		t.Fatalf("%d forms left on the confirmed review", n)
	}
	events, err := f.db.ListEvents(uiCtx(t), store.EventFilter{RequestID: r.ID, Kind: store.EventReviewConfirmed})
	if err != nil || len(events) != 1 || events[0].Actor != "alice" || events[0].Data["note"] != "The nightly report job still reads these." {
		t.Fatalf("confirmation events %+v, %v", events, err)
	}
}

// reviewDue serves, with dev users, a database where owner's live role
// reports-reader has come up for its quarterly review, and returns it.
func reviewDue(t *testing.T, owner string) (*uiFixture, store.Request) {
	t.Helper()
	var offset atomic.Int64
	db := storetest.Open(t, storetest.URL(t), store.Options{Reviews: quarterly,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	f := uiServe(t, db, auth.Identity{DevUsers: true})
	r := uiActivate(t, db, uiCreate(t, db, uiNewReq("reports-reader", owner)))
	offset.Store(int64(90 * day))
	if n, err := db.RemindReviews(uiCtx(t)); err != nil || n != 1 {
		t.Fatalf("RemindReviews = %d, %v", n, err)
	}
	return f, r
}
