package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

// changeIn puts a live role's change (version 2, read-only: one approval)
// into state: approved, provisioning or failed.
func changeIn(t *testing.T, f fixture, r store.Request, state store.Status) store.Request {
	t.Helper()
	ctx := ctxT(t)
	v2, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: withScopes(r.Spec, read("other")), Justification: "more"})
	if err != nil {
		t.Fatal(err)
	}
	v2 = approve(t, f.db, bob, v2)
	if state == store.StatusApproved {
		return wantStatus(t, f.db, r.ID, store.StatusApproved)
	}
	if _, err := f.db.BeginProvisioning(ctx, r.ID, 2); err != nil {
		t.Fatal(err)
	}
	if state == store.StatusFailed {
		if err := f.db.FailProvisioning(ctx, r.ID, 2, "iam said no"); err != nil {
			t.Fatal(err)
		}
	}
	return wantStatus(t, f.db, r.ID, state)
}

// A change on its way to IAM (approved, provisioning, failed) no longer
// shields a live role from revocation: the revocation supersedes it, says
// so in the audit trail, and the change's provisioning can neither write
// nor complete.
func TestRevokeSupersedesAChangeInFlight(t *testing.T) {
	t.Parallel()
	for _, state := range []store.Status{store.StatusApproved, store.StatusProvisioning, store.StatusFailed} {
		t.Run(string(state), func(t *testing.T) {
			f, ctx := setup(t, store.Options{})
			r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
			r = changeIn(t, f, r, state)
			for _, who := range []store.Actor{alice, dave} {
				if a := f.db.Allowed(who, r); !a.Revoke {
					t.Fatalf("Allowed(%s) on a live role with a %s change = %+v, want Revoke", who.Name, state, a)
				}
			}
			_, err := f.db.Revoke(ctx, mallory, r.ID)
			wantErr(t, err, store.ErrForbidden, "")
			got, err := f.db.Revoke(ctx, alice, r.ID)
			if err != nil || got.Status != store.StatusRevoking || got.Version != 1 || got.LiveVersion != 1 {
				t.Fatalf("Revoke = %+v, %v; want revoking the live version 1", got, err)
			}
			sup, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventSuperseded})
			if err != nil || len(sup) != 1 || sup[0].Version != 2 || sup[0].Data["status"] != string(state) || sup[0].Actor != "alice" {
				t.Fatalf("superseded events = %+v, %v; want one for version 2 that was %s", sup, err, state)
			}
			// The change's job, running or not, writes and completes nothing.
			wantErr(t, f.db.StillProvisioning(ctx, r.ID, 2), store.ErrConflict, "")
			_, err = f.db.BeginProvisioning(ctx, r.ID, 2)
			wantErr(t, err, store.ErrConflict, "")
			wantErr(t, f.db.CompleteProvisioning(ctx, r.ID, 2, result("reports-reader", 2)), store.ErrConflict, "")
			wantErr(t, f.db.FailProvisioning(ctx, r.ID, 2, "late"), store.ErrConflict, "")
			w, err := f.db.BeginRevocation(ctx, r.ID)
			if err != nil || w.Version != 1 {
				t.Fatalf("BeginRevocation = %+v, %v; want the live version 1", w, err)
			}
			if done, err := f.db.CompleteRevocation(ctx, r.ID, nil); err != nil || done.Status != store.StatusRevoked {
				t.Fatalf("CompleteRevocation = %+v, %v", done, err)
			}
		})
	}
}

// A live role expires whatever its change is doing.
func TestExpirySupersedesAChangeInFlight(t *testing.T) {
	t.Parallel()
	for _, state := range []store.Status{store.StatusApproved, store.StatusProvisioning, store.StatusFailed} {
		t.Run(string(state), func(t *testing.T) {
			f, ctx := setup(t, store.Options{})
			exp := f.clock.Now().Add(2 * time.Hour)
			r := activate(t, f, mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), exp)))
			changeIn(t, f, r, state)
			f.clock.Advance(90 * time.Minute)
			if n, err := f.db.RemindExpiring(ctx, time.Hour); err != nil || n != 1 {
				t.Fatalf("RemindExpiring = %d, %v; want the live role reminded", n, err)
			}
			f.clock.Advance(time.Hour)
			if n, err := f.db.ExpireDue(ctx); err != nil || n != 1 {
				t.Fatalf("ExpireDue = %d, %v; want the live role expired", n, err)
			}
			got := wantStatus(t, f.db, r.ID, store.StatusRevoking)
			if got.Version != 1 || countEvents(t, f.db, r.ID, store.EventSuperseded) != 1 {
				t.Fatalf("version %d, superseded events %d", got.Version, countEvents(t, f.db, r.ID, store.EventSuperseded))
			}
			if jobs := jobArgs(t, f.db, "revoke", r.ID); len(jobs) != 1 {
				t.Fatalf("revoke jobs = %v", jobs)
			}
			if done, err := f.db.CompleteRevocation(ctx, r.ID, nil); err != nil || done.Status != store.StatusExpired {
				t.Fatalf("CompleteRevocation = %+v, %v", done, err)
			}
		})
	}
}

// A first provisioning that failed may have created the role: the
// requester or an admin revokes the failed request, which removes what
// rolegate created and frees the name.
func TestRevokeAFailedFirstProvisioning(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	failFirst := func(name string) store.Request {
		r := approve(t, f.db, bob, mustCreate(t, f.db, newRequest(name, "alice")))
		if _, err := f.db.BeginProvisioning(ctx, r.ID, 1); err != nil {
			t.Fatal(err)
		}
		if err := f.db.FailProvisioning(ctx, r.ID, 1, "instance profile taken"); err != nil {
			t.Fatal(err)
		}
		return wantStatus(t, f.db, r.ID, store.StatusFailed)
	}
	for _, who := range []store.Actor{alice, dave} {
		r := failFirst("half-made-" + who.Name)
		_, err := f.db.Revoke(ctx, bob, r.ID) // an approver is no admin
		wantErr(t, err, store.ErrForbidden, "")
		got, err := f.db.Revoke(ctx, who, r.ID)
		if err != nil || got.Status != store.StatusRevoking {
			t.Fatalf("%s revokes a failed request: %+v, %v", who.Name, got, err)
		}
		if countEvents(t, f.db, r.ID, store.EventSuperseded) != 1 {
			t.Fatal("want the failed version recorded as superseded")
		}
		w, err := f.db.BeginRevocation(ctx, r.ID)
		if err != nil || w.Version != 1 || w.Request.LiveVersion != 0 {
			t.Fatalf("BeginRevocation = %+v, %v; want version 1 of a request never live", w, err)
		}
		if done, err := f.db.CompleteRevocation(ctx, r.ID, nil); err != nil || done.Status != store.StatusRevoked {
			t.Fatalf("CompleteRevocation = %+v, %v", done, err)
		}
		// The name is free again.
		mustCreate(t, f.db, newRequest("half-made-"+who.Name, "alice"))
	}

	// A failed revocation can be revoked again (not only retried by an
	// admin), and its new job is not taken for a duplicate of the first.
	r := activate(t, f, mustCreate(t, f.db, newRequest("stubborn", "alice", read("stubborn"))))
	if _, err := f.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.FailRevocation(ctx, r.ID, "AccessDenied"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.db.Revoke(ctx, alice, r.ID); err != nil || got.Status != store.StatusRevoking {
		t.Fatalf("revoke after a failed revocation: %+v, %v", got, err)
	}
	if jobs := jobArgs(t, f.db, "revoke", r.ID); len(jobs) != 2 || jobs[1]["attempt"] != float64(1) {
		t.Fatalf("revoke jobs = %v, want a second one", jobs)
	}
	if countEvents(t, f.db, r.ID, store.EventSuperseded) != 0 {
		t.Fatal("revoking a live role with nothing in flight supersedes nothing")
	}

	// A pending first version has nothing in IAM: cancel it instead.
	p := mustCreate(t, f.db, newRequest("pending-role", "alice"))
	_, err := f.db.Revoke(ctx, alice, p.ID)
	wantErr(t, err, store.ErrConflict, "is pending, so it cannot be revoked")
}

// The revocation does not touch IAM while a provisioning job of the
// request is running (it could create again what was removed).
func TestRevocationWaitsForARunningProvisioningJob(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	// River marks a job running when a worker takes it.
	if _, err := f.db.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
		attempted_by = '{test}' WHERE kind = 'provision' AND (args->>'request_id')::bigint = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.BeginProvisioning(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.db.BeginRevocation(ctx, r.ID)
	if !errors.Is(err, store.ErrProvisioningRunning) {
		t.Fatalf("BeginRevocation with a provisioning job running: %v, want ErrProvisioningRunning", err)
	}
	if _, err := f.db.Pool().Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now()
		WHERE kind = 'provision' AND (args->>'request_id')::bigint = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if w, err := f.db.BeginRevocation(ctx, r.ID); err != nil || w.Version != 1 {
		t.Fatalf("BeginRevocation once the job stopped: %+v, %v", w, err)
	}
}

// The drift check reads the live roles nothing of rolegate is writing to:
// active, with a change pending, or with a change that failed (checked
// against the live version, which stays in IAM). A change approved or
// being provisioned is its job's, and a revocation's role is on its way
// out. RecordDrift marks the same requests.
func TestLiveWorkIncludesAFailedChange(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	want := map[int64]bool{}
	live := func(name string) store.Request {
		return activate(t, f, mustCreate(t, f.db, newRequest(name, "alice", read(name))))
	}
	want[live("active").ID] = true
	pending := live("pending")
	if _, err := f.db.RequestChange(ctx, alice, pending.ID, store.NewVersion{Spec: withScopes(pending.Spec, read("other")), Justification: "more"}); err != nil {
		t.Fatal(err)
	}
	want[pending.ID] = true
	for _, state := range []store.Status{store.StatusApproved, store.StatusProvisioning, store.StatusFailed} {
		r := changeIn(t, f, live(string(state)), state)
		want[r.ID] = state == store.StatusFailed
	}
	revoking := live("revoking")
	if _, err := f.db.Revoke(ctx, alice, revoking.ID); err != nil {
		t.Fatal(err)
	}
	want[revoking.ID] = false
	revokeFailed := live("revoke-failed")
	if _, err := f.db.Revoke(ctx, alice, revokeFailed.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.FailRevocation(ctx, revokeFailed.ID, "iam said no"); err != nil {
		t.Fatal(err)
	}
	want[revokeFailed.ID] = false

	work, err := f.db.LiveWork(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for _, w := range work {
		got[w.Request.ID] = w.Version
	}
	for id, in := range want {
		r, err := f.db.GetRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v, listed := got[id]; listed != in || (listed && v != 1) {
			t.Errorf("%s request %q (version %d): LiveWork lists it %v at version %d; want %v at the live version 1",
				r.Status, r.Spec.Name, r.Version, listed, v, in)
		}
		if err := f.db.RecordDrift(ctx, id, 1, []string{"description differs"}, false); err != nil {
			t.Fatal(err)
		}
		if r, _ = f.db.GetRequest(ctx, id); r.Drifted != in {
			t.Errorf("%s request %q: drifted %v after RecordDrift, want %v", r.Status, r.Spec.Name, r.Drifted, in)
		}
	}
}

// A request whose job River discarded (its worker died in the last
// attempt) is failed by FailOrphaned, so that an admin can retry it;
// requests whose jobs are still to run, or running, are left alone.
func TestFailOrphanedFailsRequestsWhoseJobIsGone(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	discard := func(kind string, id int64) {
		t.Helper()
		if _, err := f.db.Pool().Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now(), attempt = max_attempts
			WHERE kind = $1 AND (args->>'request_id')::bigint = $2`, kind, id); err != nil {
			t.Fatal(err)
		}
	}
	lostApproved := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("lost-approved", "alice")))
	discard("provision", lostApproved.ID)
	lostRunning := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("lost-running", "alice")))
	if _, err := f.db.BeginProvisioning(ctx, lostRunning.ID, 1); err != nil {
		t.Fatal(err)
	}
	discard("provision", lostRunning.ID)
	lostRevoke := activate(t, f, mustCreate(t, f.db, newRequest("lost-revoke", "alice")))
	if _, err := f.db.Revoke(ctx, alice, lostRevoke.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.BeginRevocation(ctx, lostRevoke.ID); err != nil {
		t.Fatal(err)
	}
	discard("revoke", lostRevoke.ID)
	waiting := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("still-queued", "alice")))
	revoking := activate(t, f, mustCreate(t, f.db, newRequest("still-revoking", "alice")))
	if _, err := f.db.Revoke(ctx, alice, revoking.ID); err != nil {
		t.Fatal(err)
	}

	n, err := f.db.FailOrphaned(ctx)
	if err != nil || n != 3 {
		t.Fatalf("FailOrphaned = %d, %v; want the 3 requests whose job is gone", n, err)
	}
	for id, want := range map[int64]store.Status{lostApproved.ID: store.StatusFailed, lostRunning.ID: store.StatusFailed,
		lostRevoke.ID: store.StatusFailed, waiting.ID: store.StatusApproved, revoking.ID: store.StatusRevoking} {
		r, err := f.db.GetRequest(ctx, id)
		if err != nil || r.Status != want {
			t.Errorf("request %d: %s, %v; want %s", id, r.Status, err, want)
		}
		if want == store.StatusFailed && !strings.Contains(r.StatusReason, "its job ended without finishing") {
			t.Errorf("request %d fails for %q", id, r.StatusReason)
		}
	}
	// Failed, they are what an admin retries; a second sweep finds none.
	if n, err := f.db.FailOrphaned(ctx); err != nil || n != 0 {
		t.Fatalf("second FailOrphaned = %d, %v", n, err)
	}
}
