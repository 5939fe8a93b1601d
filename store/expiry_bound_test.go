package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// TestExpiryBeyondTheBoundIsRefused: a requester's expiry, and an
// approver's, is at most provision.MaxExpiryYears ahead, refused at the
// expires_at field, so no lifetime reaches the arithmetic that a time
// further away would overflow.
func TestExpiryBeyondTheBoundIsRefused(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	y2400 := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := f.db.CreateRequest(ctx, expiring(newRequest("far-reader", "alice"), y2400))
	wantExpiryProblem(t, err, "at most 10 years ahead")

	// An approver may set an expiry on a request that asked for none,
	// within the same bound.
	r := mustCreate(t, f.db, newRequest("open-reader", "alice"))
	_, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &y2400})
	wantExpiryProblem(t, err, "at most 10 years ahead")
	if got := mustGet(t, f.db, r.ID); got.Status != store.StatusPending {
		t.Fatalf("request is %s after a refused approval, want pending", got.Status)
	}
	past := f.clock.Now().Add(-time.Hour)
	_, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &past})
	wantExpiryProblem(t, err, "must be in the future")
	inNineYears := f.clock.Now().AddDate(9, 0, 0)
	if r, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &inNineYears}); err != nil || r.Status != store.StatusApproved {
		t.Fatalf("approve with an expiry nine years ahead: %+v, %v", r, err)
	}
}

func wantExpiryProblem(t *testing.T, err error, msg string) {
	t.Helper()
	var verr *provision.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Field != "expires_at" ||
		!strings.Contains(verr.Problems[0].Message, msg) {
		t.Fatalf("err = %v, want a problem at expires_at saying %q", err, msg)
	}
}
