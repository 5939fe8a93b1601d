package store_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

const day = 24 * time.Hour

// quarterly reviews every 90 days with two weeks' grace.
var quarterly = store.ReviewPolicy{Interval: 90 * day, Grace: 14 * day}

func TestReviewSchedule(t *testing.T) {
	t.Parallel()
	since := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	due := since.Add(90 * day)
	at := func(d time.Duration) *time.Time { x := since.Add(d); return &x }
	for _, tc := range []struct {
		name       string
		reminded   *time.Time
		now        time.Time
		policy     store.ReviewPolicy
		wantState  store.ReviewState
		wantRevoke time.Time
	}{
		{"just went live", nil, since, quarterly, store.ReviewUpcoming, due.Add(14 * day)},
		{"a second before due", nil, due.Add(-time.Second), quarterly, store.ReviewUpcoming, due.Add(14 * day)},
		{"due, reminder not sent yet", nil, due, quarterly, store.ReviewDue, due.Add(14 * day)},
		{"due, the check ran a day late", nil, due.Add(day), quarterly, store.ReviewDue, due.Add(15 * day)},
		{"reminded when due", &due, due.Add(time.Hour), quarterly, store.ReviewDue, due.Add(14 * day)},
		{"reminded a day late: the whole grace from the reminder", at(91 * day), due.Add(2 * day), quarterly, store.ReviewDue, due.Add(15 * day)},
		{"past the grace", &due, due.Add(20 * day), quarterly, store.ReviewDue, due.Add(14 * day)},
		{"no grace", &due, due, store.ReviewPolicy{Interval: 90 * day}, store.ReviewDue, due},
		// The interval grew after the reminder: nothing is revoked before
		// the review is due again.
		{"interval lengthened after the reminder", &due, due.Add(time.Hour), store.ReviewPolicy{Interval: 180 * day, Grace: 14 * day},
			store.ReviewUpcoming, since.Add(180 * day)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotDue, revoke, state := tc.policy.Schedule(since, tc.reminded, tc.now)
			if !gotDue.Equal(since.Add(tc.policy.Interval)) || state != tc.wantState || !revoke.Equal(tc.wantRevoke) {
				t.Fatalf("Schedule = due %v, revoke %v, %s; want due %v, revoke %v, %s",
					gotDue, revoke, state, since.Add(tc.policy.Interval), tc.wantRevoke, tc.wantState)
			}
		})
	}
}

// The periodic check's SQL follows Schedule: one reminder when the review
// falls due, the revocation exactly the grace later and not a second
// before, by the same path as a revoke, recorded under the review actor.
func TestReviewCycleRemindsThenRevokes(t *testing.T) {
	f, ctx := setup(t, store.Options{Reviews: quarterly})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	for _, step := range []struct {
		name      string
		advance   time.Duration
		reminded  int
		revoked   int
		wantState store.ReviewState
		wantDue   int // CountDueReviews
	}{
		{"just live", 0, 0, 0, store.ReviewUpcoming, 0},
		{"a second before due", 90*day - time.Second, 0, 0, store.ReviewUpcoming, 0},
		{"due", time.Second, 1, 0, store.ReviewDue, 1},
		{"never a second reminder", time.Hour, 0, 0, store.ReviewDue, 1},
		{"a second before the grace ends", 14*day - time.Hour - time.Second, 0, 0, store.ReviewDue, 1},
		{"grace over", time.Second, 0, 1, "", 0},
		{"already revoking", time.Hour, 0, 0, "", 0},
	} {
		f.clock.Advance(step.advance)
		n, err := f.db.RevokeLapsedReviews(ctx)
		if err != nil || n != step.revoked {
			t.Fatalf("%s: RevokeLapsedReviews = %d, %v; want %d", step.name, n, err, step.revoked)
		}
		if n, err = f.db.RemindReviews(ctx); err != nil || n != step.reminded {
			t.Fatalf("%s: RemindReviews = %d, %v; want %d", step.name, n, err, step.reminded)
		}
		if n, err := f.db.CountDueReviews(ctx); err != nil || n != step.wantDue {
			t.Fatalf("%s: CountDueReviews = %d, %v; want %d", step.name, n, err, step.wantDue)
		}
		rv, err := f.db.GetReview(ctx, r.ID)
		if step.wantState == "" {
			wantErr(t, err, store.ErrConflict, "no live role")
			continue
		}
		if err != nil || rv.State != step.wantState {
			t.Fatalf("%s: review %+v, %v; want %s", step.name, rv, err, step.wantState)
		}
	}
	got := wantStatus(t, f.db, r.ID, store.StatusRevoking)
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		if strings.HasPrefix(e.Kind, "review.") || e.Kind == store.EventRevokeRequested {
			kinds = append(kinds, e.Actor+" "+e.Kind)
		}
	}
	want := "access-review review.reminder, access-review review.lapsed, access-review revoke.requested"
	if strings.Join(kinds, ", ") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	if jobs := jobArgs(t, f.db, "revoke", r.ID); len(jobs) != 1 {
		t.Fatalf("revoke jobs = %v", jobs)
	}
	done, err := f.db.CompleteRevocation(ctx, got.ID, nil)
	if err != nil || done.Status != store.StatusRevoked {
		t.Fatalf("CompleteRevocation: %+v, %v", done, err)
	}
}

// A confirmation starts a new cycle from now and clears the reminder; a
// change that goes live keeps the cycle it is in (so a change cannot put
// a review off).
func TestConfirmStartsANewCycleAndAChangeKeepsIt(t *testing.T) {
	f, ctx := setup(t, store.Options{Reviews: quarterly})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	first, err := f.db.GetReview(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Since.Equal(*r.ActivatedAt) {
		t.Fatalf("cycle began %v, activated %v", first.Since, r.ActivatedAt)
	}
	f.clock.Advance(30 * day)
	ch, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: withScopes(r.Spec, read("example-bucket"), read("other-bucket")), Justification: "more"})
	if err != nil {
		t.Fatal(err)
	}
	provisionNow(t, f, approve(t, f.db, bob, ch))
	changed, err := f.db.GetReview(ctx, r.ID)
	if err != nil || !changed.Since.Equal(first.Since) || !changed.DueAt.Equal(first.DueAt) {
		t.Fatalf("after a change: %+v, %v; want the cycle of %+v", changed, err, first)
	}
	f.clock.Advance(61 * day)
	if n, err := f.db.RemindReviews(ctx); err != nil || n != 1 {
		t.Fatalf("RemindReviews = %d, %v", n, err)
	}
	note := "still used by the nightly report"
	rv, err := f.db.ConfirmReview(ctx, alice, r.ID, note)
	if err != nil {
		t.Fatal(err)
	}
	if rv.State != store.ReviewUpcoming || !rv.Since.Equal(f.clock.Now()) || rv.RemindedAt != nil || !rv.DueAt.Equal(f.clock.Now().Add(90*day)) {
		t.Fatalf("after confirming: %+v", rv)
	}
	confirmed, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventReviewConfirmed})
	if err != nil || len(confirmed) != 1 || confirmed[0].Actor != "alice" || confirmed[0].Data["note"] != note || confirmed[0].Version != 2 {
		t.Fatalf("confirmation events %+v, %v", confirmed, err)
	}
	// The old reminder's grace passing revokes nothing now; the next
	// cycle reminds again.
	f.clock.Advance(15 * day)
	if n, err := f.db.RevokeLapsedReviews(ctx); err != nil || n != 0 {
		t.Fatalf("RevokeLapsedReviews after confirming = %d, %v", n, err)
	}
	f.clock.Advance(75 * day)
	if n, err := f.db.RemindReviews(ctx); err != nil || n != 1 {
		t.Fatalf("RemindReviews in the next cycle = %d, %v", n, err)
	}
	if _, err := f.db.ConfirmReview(ctx, alice, r.ID, ""); err != nil {
		t.Fatalf("a confirmation without a note: %v", err)
	}
}

// Only the owner or an admin answers a review; who asks is checked before
// the review's state, so others learn nothing of it.
func TestAnsweringReviewsRules(t *testing.T) {
	f, ctx := setup(t, store.Options{Reviews: quarterly})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	pending := mustCreate(t, f.db, newRequest("not-live-yet", "alice"))

	_, err := f.db.ConfirmReview(ctx, alice, r.ID, "")
	wantErr(t, err, store.ErrConflict, "not due until")
	for _, who := range []store.Actor{mallory, bob, carol} {
		_, err := f.db.ConfirmReview(ctx, who, r.ID, "")
		wantErr(t, err, store.ErrForbidden, "owner or an admin")
		_, err = f.db.LetGo(ctx, who, r.ID, "")
		wantErr(t, err, store.ErrForbidden, "owner or an admin")
		_, err = f.db.LetGo(ctx, who, pending.ID, "")
		wantErr(t, err, store.ErrForbidden, "owner or an admin")
	}
	_, err = f.db.ConfirmReview(ctx, alice, 999999, "")
	wantErr(t, err, store.ErrNotFound, "")
	_, err = f.db.LetGo(ctx, alice, pending.ID, "")
	wantErr(t, err, store.ErrConflict, "no live role")
	_, err = f.db.ConfirmReview(ctx, alice, r.ID, strings.Repeat("é", store.MaxReviewNote+1))
	wantErr(t, err, store.ErrInvalid, "1001 characters; at most 1000")

	f.clock.Advance(90 * day)
	// alice, moved out of the requester groups, may let her role go but
	// not keep it: her confirmation kept it alive review after review.
	moved := store.Actor{Name: "alice", Roles: []store.Role{store.RoleApprover}}
	_, err = f.db.ConfirmReview(ctx, moved, r.ID, "")
	wantErr(t, err, store.ErrForbidden, "no longer hold the requester role")
	if _, err := f.db.ConfirmReview(ctx, dave, r.ID, strings.Repeat("é", store.MaxReviewNote)); err != nil {
		t.Fatalf("an admin confirms with a note of the longest length: %v", err)
	}
	got, err := f.db.LetGo(ctx, alice, r.ID, "the job moved")
	if err != nil || got.Status != store.StatusRevoking {
		t.Fatalf("LetGo: %+v, %v", got, err)
	}
	letGo, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventReviewLetGo})
	if err != nil || len(letGo) != 1 || letGo[0].Data["note"] != "the job moved" || letGo[0].Actor != "alice" {
		t.Fatalf("let-go events %+v, %v", letGo, err)
	}
	if n := countEvents(t, f.db, r.ID, store.EventRevokeRequested); n != 1 {
		t.Fatalf("%d revoke.requested events", n)
	}
	_, err = f.db.LetGo(ctx, alice, r.ID, "")
	wantErr(t, err, store.ErrConflict, "revoking")

	off := newFixture(t, store.Options{})
	live := activate(t, off, mustCreate(t, off.db, newRequest("reports-reader", "alice")))
	off.clock.Advance(1000 * day)
	_, err = off.db.ConfirmReview(ctx, alice, live.ID, "")
	wantErr(t, err, store.ErrConflict, "access reviews are off")
	if n, err := off.db.RemindReviews(ctx); err != nil || n != 0 {
		t.Fatalf("RemindReviews with reviews off = %d, %v", n, err)
	}
	if page, err := off.db.ListReviews(ctx, store.ReviewFilter{}); err != nil || len(page.Reviews) != 0 {
		t.Fatalf("ListReviews with reviews off = %+v, %v", page, err)
	}
}

// A revocation for an unanswered review supersedes a change under way,
// as an expiry does.
func TestLapsedReviewSupersedesAPendingChange(t *testing.T) {
	f, ctx := setup(t, store.Options{Reviews: quarterly})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	f.clock.Advance(90 * day)
	if _, err := f.db.RemindReviews(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: withScopes(r.Spec, read("other-bucket")), Justification: "move"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(14 * day)
	if n, err := f.db.RevokeLapsedReviews(ctx); err != nil || n != 1 {
		t.Fatalf("RevokeLapsedReviews = %d, %v", n, err)
	}
	got := wantStatus(t, f.db, r.ID, store.StatusRevoking)
	if got.Version != 1 || countEvents(t, f.db, r.ID, store.EventSuperseded) != 1 {
		t.Fatalf("revoking at version %d; want the live version 1 and the change superseded", got.Version)
	}
}

// ListReviews pages soonest due first and filters by owner and state.
func TestListReviews(t *testing.T) {
	f, ctx := setup(t, store.Options{Reviews: quarterly})
	var ids []int64
	for i, name := range []string{"a-reader", "b-reader", "c-reader"} {
		owner := "alice"
		if i == 1 {
			owner = "mallory"
		}
		ids = append(ids, activate(t, f, mustCreate(t, f.db, newRequest(name, owner, provision.BucketScope{Bucket: "example-bucket", Access: provision.AccessRead}))).ID)
		f.clock.Advance(10 * day)
	}
	// Now: a is 30 days in, b 20, c 10. In 65 days a is due.
	f.clock.Advance(65 * day)
	list := func(flt store.ReviewFilter) []int64 {
		t.Helper()
		var out []int64
		for {
			page, err := f.db.ListReviews(ctx, flt)
			if err != nil {
				t.Fatal(err)
			}
			for _, rv := range page.Reviews {
				out = append(out, rv.RequestID)
			}
			if page.Next == "" {
				return out
			}
			flt.Cursor = page.Next
		}
	}
	for _, tc := range []struct {
		name string
		flt  store.ReviewFilter
		want []int64
	}{
		{"all, paged by one", store.ReviewFilter{Limit: 1}, ids},
		{"alice's", store.ReviewFilter{Owner: "alice"}, []int64{ids[0], ids[2]}},
		{"due", store.ReviewFilter{State: store.ReviewDue}, ids[:1]},
		{"upcoming", store.ReviewFilter{State: store.ReviewUpcoming, Limit: 1}, ids[1:]},
	} {
		if got := list(tc.flt); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err := f.db.ListReviews(ctx, store.ReviewFilter{Cursor: "nope"})
	wantErr(t, err, store.ErrBadCursor, "")
	// A cursor naming a time PostgreSQL cannot hold (here the year
	// -9,500,000) is foreign too, not a database error.
	for _, text := range []string{"v-300000000000000000.1", "v-9223372036854775808.1", "v9223372036854775807.1"} {
		_, err = f.db.ListReviews(ctx, store.ReviewFilter{Cursor: base64.RawURLEncoding.EncodeToString([]byte(text))})
		wantErr(t, err, store.ErrBadCursor, "")
	}
	_, err = f.db.ListReviews(ctx, store.ReviewFilter{State: "late"})
	wantErr(t, err, store.ErrInvalid, "not upcoming or due")
}
