package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

// repairHeld starts a drift repair of the live version of request id that
// holds the repair lock until the returned function is called, which
// waits for Repair to return and fails the test on its error.
func repairHeld(t *testing.T, db *store.DB, id int64, version int) (release func()) {
	t.Helper()
	held, open, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.Repair(context.Background(), id, version, func(context.Context, func(context.Context) error) error {
			close(held)
			<-open
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the repair of request %d returned before it held its lock: %v", id, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("the repair of request %d never began", id)
	}
	return func() {
		t.Helper()
		close(open)
		if err := <-done; err != nil {
			t.Fatalf("the repair of request %d: %v", id, err)
		}
	}
}

// TestRepairHoldsOffProvisioningAndRevocation: while a drift repair of a
// live role writes to IAM, neither the provisioning of a change approved
// meanwhile nor a revocation begins (the repair would undo what they
// write); both begin once it is over.
func TestRepairHoldsOffProvisioningAndRevocation(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := activate(t, f, mustCreate(t, f.db, newRequest("repaired-reader", "alice")))
	spec := r.Spec
	spec.Description = "a better description"
	changed, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: spec, Justification: "clearer"})
	if err != nil {
		t.Fatal(err)
	}
	release := repairHeld(t, f.db, r.ID, r.LiveVersion)
	changed = approve(t, f.db, bob, changed)
	_, err = f.db.BeginProvisioning(ctx, r.ID, changed.Version)
	wantErr(t, err, store.ErrRepairRunning, "")
	release()
	provisionNow(t, f, changed)

	other := activate(t, f, mustCreate(t, f.db, newRequest("revoked-reader", "alice")))
	release = repairHeld(t, f.db, other.ID, other.LiveVersion)
	if _, err := f.db.Revoke(ctx, alice, other.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.db.BeginRevocation(ctx, other.ID)
	wantErr(t, err, store.ErrRepairRunning, "")
	release()
	if _, err := f.db.BeginRevocation(ctx, other.ID); err != nil {
		t.Fatalf("BeginRevocation after the repair: %v", err)
	}
}
