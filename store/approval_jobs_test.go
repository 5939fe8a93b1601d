package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// The approval that completes a quorum enqueues exactly one provisioning
// job, in the decision's own transaction.

// Twenty approvers press the button at the same moment: the request is
// approved once, one provisioning job exists, every decision that was
// accepted is stored once and every other caller is told it came too late.
func TestConcurrentApprovalsProvisionOnce(t *testing.T) {
	f, ctx := setup(t, store.Options{MaxConns: 8})
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))

	const n = 20
	var (
		mu        sync.Mutex
		succeeded []string
		conflicts int
		others    []error
	)
	storetest.AtOnce(n, func(i int) {
		who := store.Actor{Name: fmt.Sprintf("approver-%02d", i), Roles: []store.Role{store.RoleApprover}}
		_, err := f.db.Decide(ctx, who, r.ID, 1, store.Decision{Approve: true})
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			succeeded = append(succeeded, who.Name)
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			others = append(others, err)
		}
	})

	if len(others) > 0 {
		t.Fatalf("unexpected errors: %v", others)
	}
	if len(succeeded)+conflicts != n || len(succeeded) < 2 {
		t.Fatalf("%d succeeded, %d conflicts; want 20 in all and at least the quorum of 2", len(succeeded), conflicts)
	}
	wantStatus(t, f.db, r.ID, store.StatusApproved)
	jobs := jobArgs(t, f.db, "provision", 0)
	if len(jobs) != 1 || jobs[0]["request_id"] != float64(r.ID) || jobs[0]["version"] != float64(1) {
		t.Fatalf("provision jobs = %v, want exactly one for request %d version 1", jobs, r.ID)
	}
	vs, err := f.db.ListVersions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, d := range vs[0].Decisions {
		stored = append(stored, d.Approver)
	}
	slices.Sort(stored)
	slices.Sort(succeeded)
	if !slices.Equal(stored, succeeded) {
		t.Fatalf("stored decisions %v, want exactly the accepted ones %v", stored, succeeded)
	}
	if got := countEvents(t, f.db, r.ID, store.EventDecisionApproved); got != len(succeeded) {
		t.Fatalf("%d decision events for %d accepted decisions", got, len(succeeded))
	}
	if got := countEvents(t, f.db, r.ID, store.EventApproved); got != 1 {
		t.Fatalf("%d request.approved events, want 1", got)
	}
}

// The job is part of the decision's transaction: when the transaction
// fails after inserting it, neither the decision nor the job remains.
func TestProvisionJobInTheDecisionTransaction(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	ok := mustCreate(t, f.db, newRequest("reports-reader", "alice"))
	approve(t, f.db, bob, ok)
	no := mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports")))
	if _, err := f.db.Decide(ctx, bob, no.ID, 1, store.Decision{Approve: false}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'provision'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d provision jobs after one approval and one rejection, want 1", n)
	}
	if len(jobArgs(t, f.db, "provision", no.ID)) != 0 {
		t.Fatal("the rejected request has a provision job")
	}

	// Fail the approving transaction at its commit, once the job is in.
	if _, err := f.db.Pool().Exec(ctx, `
		CREATE FUNCTION fail_after_job() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.kind = 'request.approved' AND EXISTS (SELECT 1 FROM river_job WHERE (args->>'request_id')::bigint = NEW.request_id)
		THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END; $$;
		CREATE CONSTRAINT TRIGGER fail_after_job AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED
			FOR EACH ROW EXECUTE FUNCTION fail_after_job();`); err != nil {
		t.Fatal(err)
	}
	r := mustCreate(t, f.db, newRequest("logs-reader", "alice", read("logs")))
	if _, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true}); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	wantStatus(t, f.db, r.ID, store.StatusPending)
	if jobs := jobArgs(t, f.db, "provision", r.ID); len(jobs) != 0 {
		t.Fatalf("jobs = %v after a failed approval", jobs)
	}
	if vs, err := f.db.ListVersions(ctx, r.ID); err != nil || len(vs[0].Decisions) != 0 {
		t.Fatalf("decisions after a failed approval: %+v, %v", vs, err)
	}
}
