package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

// changeDiff returns the diff lines of the change.submitted event of
// version of request id.
func changeDiff(t *testing.T, db *store.DB, id int64, version int) []string {
	t.Helper()
	events, err := db.ListEvents(ctxT(t), store.EventFilter{RequestID: id, Kind: store.EventChangeSubmitted, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Version != version {
			continue
		}
		lines := []string{}
		raw, _ := e.Data["diff"].([]any)
		for _, l := range raw {
			lines = append(lines, l.(string))
		}
		return lines
	}
	t.Fatalf("no change.submitted event for request %d version %d", id, version)
	return nil
}

func wantExpiry(t *testing.T, r store.Request, want *time.Time) {
	t.Helper()
	switch {
	case want == nil && r.ExpiresAt != nil:
		t.Fatalf("request %d expires at %v, want no expiry", r.ID, r.ExpiresAt)
	case want != nil && (r.ExpiresAt == nil || !r.ExpiresAt.Equal(*want)):
		t.Fatalf("request %d expires at %v, want %v", r.ID, r.ExpiresAt, want)
	}
}

// An approver's shorter expiry survives a change that does not ask for
// another one, and a change never restarts the role's lifetime.
func TestChangeKeepsTheExpiryInForce(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	t0 := f.clock.Now()
	far := t0.Add(300 * 24 * time.Hour)
	r := mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), far))
	short := t0.Add(2 * 24 * time.Hour)
	r, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &short})
	if err != nil || r.Status != store.StatusApproved {
		t.Fatalf("approve with a shorter expiry: %+v, %v", r, err)
	}
	f.clock.Advance(time.Hour)
	live := provisionNow(t, f, r)
	inForce := *live.ExpiresAt
	if want := t0.Add(time.Hour + 2*24*time.Hour); !inForce.Equal(want) {
		t.Fatalf("expires at %v after activation, want %v", inForce, want)
	}

	// A day later alice fixes a typo, resending the spec as it was.
	f.clock.Advance(24 * time.Hour)
	next := live.Spec
	next.Description = "typo fix"
	changed, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: next, Justification: "typo"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeDiff(t, f.db, r.ID, 2), []string{"~ description changed"}; !slices.Equal(got, want) {
		t.Fatalf("diff = %q, want %q", got, want)
	}
	// Approving the change cannot lengthen the expiry in force either.
	longer := inForce.Add(24 * time.Hour)
	_, err = f.db.Decide(ctx, carol, r.ID, 2, store.Decision{Approve: true, ExpiresAt: &longer})
	wantFieldErr(t, err, "expires_at", "the role expires at "+inForce.UTC().Format(time.RFC3339)+" and the change keeps that")
	approved := approve(t, f.db, carol, changed)
	f.clock.Advance(time.Hour)
	got := provisionNow(t, f, approved)
	if got.LiveVersion != 2 || got.Status != store.StatusActive {
		t.Fatalf("after provisioning the change: %+v", got)
	}
	wantExpiry(t, got, &inForce)
	active, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventActive})
	if err != nil || len(active) != 2 || active[1].Data["expires_at"] != inForce.UTC().Format(time.RFC3339) {
		t.Fatalf("request.active events = %+v, %v; want the second to carry the expiry in force", active, err)
	}

	// No expiry asked, one set by the approver: a change without one keeps it.
	r2 := mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports")))
	set := f.clock.Now().Add(10 * 24 * time.Hour)
	r2, err = f.db.Decide(ctx, bob, r2.ID, 1, store.Decision{Approve: true, ExpiresAt: &set})
	if err != nil {
		t.Fatal(err)
	}
	live2 := provisionNow(t, f, r2)
	inForce2 := *live2.ExpiresAt
	f.clock.Advance(time.Hour)
	more := withScopes(live2.Spec, read("exports"), read("reports"))
	changed2, err := f.db.RequestChange(ctx, alice, r2.ID, store.NewVersion{Spec: more, Justification: "reports too"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeDiff(t, f.db, r2.ID, 2), []string{"+ `reports/` (read)"}; !slices.Equal(got, want) {
		t.Fatalf("diff = %q, want %q", got, want)
	}
	got2 := provisionNow(t, f, approve(t, f.db, bob, changed2))
	wantExpiry(t, got2, &inForce2)
}

// A change asking for a later expiry shows the extension against the
// expiry in force, and gets it once approved and provisioned; approvers
// may still shorten what it asks.
func TestChangeAskingForALaterExpiry(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	t0 := f.clock.Now()
	asked := time.Date(t0.Year(), t0.Month(), t0.Day(), 12, 0, 0, 0, time.UTC).Add(30 * 24 * time.Hour)
	live := activate(t, f, mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), asked)))
	inForce := *live.ExpiresAt

	f.clock.Advance(24 * time.Hour)
	later := asked.Add(90 * 24 * time.Hour)
	next := live.Spec
	next.ExpiresAt = &later
	changed, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: next, Justification: "another quarter"})
	if err != nil {
		t.Fatal(err)
	}
	requestedAt := f.clock.Now()
	want := []string{"~ expiry " + inForce.UTC().Format(time.DateOnly) + " -> " + later.UTC().Format(time.DateOnly) + " (extension)"}
	if got := changeDiff(t, f.db, live.ID, 2); !slices.Equal(got, want) {
		t.Fatalf("diff = %q, want %q", got, want)
	}
	f.clock.Advance(time.Hour)
	got := provisionNow(t, f, approve(t, f.db, bob, changed))
	// Computed as for any version asking for an expiry: the lifetime asked
	// counts from activation.
	wantAt := f.clock.Now().Add(later.Sub(requestedAt))
	wantExpiry(t, got, &wantAt)

	// A further extension that an approver shortens: the shorter one wins.
	f.clock.Advance(time.Hour)
	further := later.Add(60 * 24 * time.Hour)
	next.ExpiresAt = &further
	if _, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: next, Justification: "more"}); err != nil {
		t.Fatal(err)
	}
	cut := later.Add(10 * 24 * time.Hour)
	approved, err := f.db.Decide(ctx, carol, live.ID, 3, store.Decision{Approve: true, ExpiresAt: &cut})
	if err != nil || approved.Status != store.StatusApproved {
		t.Fatalf("approve with a shorter expiry: %+v, %v", approved, err)
	}
	decidedAt := f.clock.Now()
	f.clock.Advance(time.Hour)
	got = provisionNow(t, f, approved)
	wantAt = f.clock.Now().Add(cut.Sub(decidedAt))
	wantExpiry(t, got, &wantAt)
}

// Removing the expiry is a change approvers see, and takes effect.
func TestChangeRemovingTheExpiry(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	asked := f.clock.Now().Add(30 * 24 * time.Hour)
	live := activate(t, f, mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), asked)))
	inForce := *live.ExpiresAt

	next := live.Spec
	next.ExpiresAt = nil
	changed, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: next, Justification: "permanent"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"~ expiry " + inForce.UTC().Format(time.DateOnly) + " -> none (never expires)"}
	if got := changeDiff(t, f.db, live.ID, 2); !slices.Equal(got, want) {
		t.Fatalf("diff = %q, want %q", got, want)
	}
	got := provisionNow(t, f, approve(t, f.db, bob, changed))
	wantExpiry(t, got, nil)

	// Setting one again where none is in force shows too.
	f.clock.Advance(time.Hour)
	again := f.clock.Now().Add(7 * 24 * time.Hour)
	next.ExpiresAt = &again
	if _, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: next, Justification: "a week"}); err != nil {
		t.Fatal(err)
	}
	want = []string{"~ expiry none -> " + again.UTC().Format(time.DateOnly) + " (set)"}
	if got := changeDiff(t, f.db, live.ID, 3); !slices.Equal(got, want) {
		t.Fatalf("diff = %q, want %q", got, want)
	}
}

// Migration 00009 marks the changes already on their way to IAM that ask
// for the live version's expiry, so they keep the expiry in force too.
func TestMigrationMarksChangesInFlight(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	asked := f.clock.Now().Add(30 * 24 * time.Hour)
	keeping := activate(t, f, mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), asked)))
	if _, err := f.db.RequestChange(ctx, alice, keeping.ID, store.NewVersion{
		Spec: withScopes(keeping.Spec, read("example-bucket"), read("reports")), Justification: "reports too"}); err != nil {
		t.Fatal(err)
	}
	extending := activate(t, f, mustCreate(t, f.db, expiring(newRequest("exports-reader", "alice", read("exports")), asked)))
	later := asked.Add(24 * time.Hour)
	next := extending.Spec
	next.ExpiresAt = &later
	if _, err := f.db.RequestChange(ctx, alice, extending.ID, store.NewVersion{Spec: next, Justification: "a day more"}); err != nil {
		t.Fatal(err)
	}

	// Down to before 00009 (and whatever came after it), then up again.
	migrateDownBelow(t, f.db, 9)
	if _, err := f.db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r     store.Request
		keeps bool
	}{{keeping, true}, {extending, false}} {
		vs, err := f.db.ListVersions(ctx, c.r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 || vs[0].KeepsExpiry || vs[1].KeepsExpiry != c.keeps {
			t.Fatalf("%s: KeepsExpiry of versions 1, 2 = %v, %v; want false, %v", c.r.Spec.Name,
				vs[0].KeepsExpiry, vs[len(vs)-1].KeepsExpiry, c.keeps)
		}
	}
}
