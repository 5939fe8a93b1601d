package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

func TestProvisioningLifecycle(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	t0 := f.clock.Now()
	asked := t0.Add(48 * time.Hour)
	r := mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), asked))

	// An approver may shorten the expiry, never lengthen it; the refusal
	// stands at the field and names the expiry asked for as a time (it
	// named the lifetime stored for it, "asked for 48h0m0s").
	longer := t0.Add(72 * time.Hour)
	_, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &longer})
	wantFieldErr(t, err, "expires_at", "approvers may shorten the expiry, not lengthen it (the request asks for "+asked.UTC().Format(time.RFC3339)+")")
	shorter := t0.Add(24 * time.Hour)
	r, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &shorter})
	if err != nil || r.Status != store.StatusApproved {
		t.Fatalf("approve with a shorter expiry: %+v, %v", r, err)
	}

	// The job runs three hours later; the lifetime starts at activation.
	f.clock.Advance(3 * time.Hour)
	w, err := f.db.BeginProvisioning(ctx, r.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Version != 1 || w.Spec.Name != "reports-reader" || !slices.Equal(w.Approvers, []string{"bob"}) ||
		w.TTL != 24*time.Hour || !w.ApprovedAt.Equal(t0) || w.Request.Status != store.StatusProvisioning {
		t.Fatalf("work = %+v", w)
	}
	// A job that crashed and runs again resumes.
	if _, err := f.db.BeginProvisioning(ctx, r.ID, 1); err != nil {
		t.Fatalf("BeginProvisioning while provisioning: %v", err)
	}
	res := result("reports-reader", 1)
	if err := f.db.CompleteProvisioning(ctx, r.ID, 1, res); err != nil {
		t.Fatal(err)
	}
	active := mustGet(t, f.db, r.ID)
	activation := t0.Add(3 * time.Hour)
	if active.Status != store.StatusActive || active.RoleARN != res.RoleARN || active.InstanceProfileARN != res.InstanceProfileARN ||
		active.LiveVersion != 1 || active.ActivatedAt == nil || !active.ActivatedAt.Equal(activation) {
		t.Fatalf("active = %+v", active)
	}
	if active.ExpiresAt == nil || !active.ExpiresAt.Equal(activation.Add(24*time.Hour)) {
		t.Fatalf("expires at %v, want activation + the approved 24h = %v", active.ExpiresAt, activation.Add(24*time.Hour))
	}
	vs, err := f.db.ListVersions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(res.Terraform)
	if vs[0].Terraform != string(res.Terraform) || vs[0].TerraformSHA256 != hex.EncodeToString(sum[:]) || vs[0].TTL != 24*time.Hour {
		t.Fatalf("version = %+v", vs[0])
	}
	steps, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventProvisionStep})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].Data["arn"] != res.Steps[0].ARN || steps[0].Data["outcome"] != "created" || steps[1].Data["resource"] != "instance-profile" {
		t.Fatalf("step events = %+v", steps)
	}
	if countEvents(t, f.db, r.ID, store.EventActive) != 1 || countEvents(t, f.db, r.ID, store.EventProvisionStarted) != 1 {
		t.Fatal("want one provision.started and one request.active event")
	}

	// The job is done: running it again is stale.
	_, err = f.db.BeginProvisioning(ctx, r.ID, 1)
	wantErr(t, err, store.ErrConflict, "is active")
	wantErr(t, f.db.CompleteProvisioning(ctx, r.ID, 1, res), store.ErrConflict, "")

	// Without an approver's change, the asked-for lifetime counts from activation.
	in2 := newRequest("exports-reader", "alice", read("exports"))
	in2.Spec.ExpiresAt = &asked // 48h after t0, asked at t0+3h: a 45h lifetime
	r2 := mustCreate(t, f.db, in2)
	approve(t, f.db, bob, r2)
	f.clock.Advance(time.Hour)
	active2 := provisionNow(t, f, r2)
	if want := f.clock.Now().Add(45 * time.Hour); active2.ExpiresAt == nil || !active2.ExpiresAt.Equal(want) {
		t.Fatalf("expires at %v, want %v", active2.ExpiresAt, want)
	}
}

func TestStaleProvisioningJobs(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("reports-reader", "alice"))
	if _, err := f.db.Cancel(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.db.BeginProvisioning(ctx, r.ID, 1)
	wantErr(t, err, store.ErrConflict, "cancelled")
	wantErr(t, f.db.FailProvisioning(ctx, r.ID, 1, "boom"), store.ErrConflict, "")
	_, err = f.db.BeginProvisioning(ctx, r.ID, 2)
	wantErr(t, err, store.ErrConflict, "not at version 2")
	wantStatus(t, f.db, r.ID, store.StatusCancelled)
}

func TestFailAndAdminRetry(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	if _, err := f.db.BeginProvisioning(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	reason := "AccessDenied: not authorized to perform iam:CreateRole"
	if err := f.db.FailProvisioning(ctx, r.ID, 1, reason); err != nil {
		t.Fatal(err)
	}
	failed := wantStatus(t, f.db, r.ID, store.StatusFailed)
	if failed.StatusReason != reason {
		t.Fatalf("reason = %q", failed.StatusReason)
	}
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventFailed})
	if err != nil || len(events) != 1 || events[0].Data["reason"] != reason {
		t.Fatalf("failed events = %+v, %v", events, err)
	}
	if a := f.db.Allowed(dave, failed); !a.Retry || f.db.Allowed(bob, failed).Retry {
		t.Fatal("Allowed: only admins may retry")
	}

	_, err = f.db.Retry(ctx, bob, r.ID)
	wantErr(t, err, store.ErrForbidden, "only admins")
	retried, err := f.db.Retry(ctx, dave, r.ID)
	if err != nil || retried.Status != store.StatusApproved || retried.StatusReason != "" {
		t.Fatalf("retry: %+v, %v", retried, err)
	}
	jobs := jobArgs(t, f.db, "provision", r.ID)
	if len(jobs) != 2 || jobs[0]["attempt"] != float64(0) || jobs[1]["attempt"] != float64(1) || jobs[1]["version"] != float64(1) {
		t.Fatalf("provision jobs = %v, want the first run and the retry (attempt 1)", jobs)
	}
	_, err = f.db.Retry(ctx, dave, r.ID)
	wantErr(t, err, store.ErrConflict, "is approved")
	if got := provisionNow(t, f, retried); got.Status != store.StatusActive {
		t.Fatalf("after retry: %s", got.Status)
	}
}

func TestRevoke(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))

	_, err := f.db.Revoke(ctx, mallory, r.ID)
	wantErr(t, err, store.ErrForbidden, "requester or an admin")
	_, err = f.db.Revoke(ctx, bob, r.ID) // an approver is no admin
	wantErr(t, err, store.ErrForbidden, "")
	revoking, err := f.db.Revoke(ctx, alice, r.ID)
	if err != nil || revoking.Status != store.StatusRevoking {
		t.Fatalf("revoke: %+v, %v", revoking, err)
	}
	if jobs := jobArgs(t, f.db, "revoke", r.ID); len(jobs) != 1 {
		t.Fatalf("revoke jobs = %v", jobs)
	}
	_, err = f.db.Revoke(ctx, alice, r.ID)
	wantErr(t, err, store.ErrConflict, "is revoking")
	w, err := f.db.BeginRevocation(ctx, r.ID)
	if err != nil || w.Version != 1 || w.Spec.Name != "reports-reader" {
		t.Fatalf("BeginRevocation: %+v, %v", w, err)
	}
	done, err := f.db.CompleteRevocation(ctx, r.ID, []store.Step{{Resource: "role", Name: "reports-reader", Outcome: "deleted"}})
	if err != nil || done.Status != store.StatusRevoked {
		t.Fatalf("CompleteRevocation: %+v, %v", done, err)
	}
	if countEvents(t, f.db, r.ID, store.EventRevoked) != 1 || countEvents(t, f.db, r.ID, store.EventRevokeRequested) != 1 {
		t.Fatal("want one revoke.requested and one request.revoked event")
	}
	_, err = f.db.CompleteRevocation(ctx, r.ID, nil)
	wantErr(t, err, store.ErrConflict, "not revoking")
	_, err = f.db.BeginRevocation(ctx, r.ID)
	wantErr(t, err, store.ErrConflict, "")

	// An admin may revoke anyone's role; the name is free afterwards.
	r2 := activate(t, f, mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports"))))
	if _, err := f.db.Revoke(ctx, dave, r2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteRevocation(ctx, r2.ID, nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, f.db, newRequest("reports-reader", "alice"))
}

func TestExpireDueAndReminders(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	exp := f.clock.Now().Add(48 * time.Hour)
	r := activate(t, f, mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), exp)))
	forever := activate(t, f, mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports"))))

	for _, step := range []struct {
		advance  time.Duration
		reminded int
		expired  int
	}{
		{0, 0, 0},
		{25 * time.Hour, 1, 0},             // within a day of expiry: one reminder
		{time.Hour, 0, 0},                  // never a second one
		{22*time.Hour - time.Second, 0, 0}, // a second early
		{time.Second, 0, 1},
		{time.Hour, 0, 0}, // already revoking
	} {
		f.clock.Advance(step.advance)
		n, err := f.db.RemindExpiring(ctx, 24*time.Hour)
		if err != nil || n != step.reminded {
			t.Fatalf("at %v: RemindExpiring = %d, %v; want %d", step.advance, n, err, step.reminded)
		}
		n, err = f.db.ExpireDue(ctx)
		if err != nil || n != step.expired {
			t.Fatalf("at %v: ExpireDue = %d, %v; want %d", step.advance, n, err, step.expired)
		}
	}
	if countEvents(t, f.db, r.ID, store.EventExpiryReminder) != 1 {
		t.Fatal("want exactly one reminder")
	}
	wantStatus(t, f.db, r.ID, store.StatusRevoking)
	wantStatus(t, f.db, forever.ID, store.StatusActive)
	if jobs := jobArgs(t, f.db, "revoke", r.ID); len(jobs) != 1 {
		t.Fatalf("revoke jobs = %v", jobs)
	}
	done, err := f.db.CompleteRevocation(ctx, r.ID, nil)
	if err != nil || done.Status != store.StatusExpired {
		t.Fatalf("CompleteRevocation: %+v, %v", done, err)
	}
	if countEvents(t, f.db, r.ID, store.EventExpired) != 1 || countEvents(t, f.db, r.ID, store.EventRevoked) != 0 {
		t.Fatal("want one request.expired event and no request.revoked")
	}
}

func TestRecordDrift(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	changes := []string{"inline policy differs", "tag rolegate:request-id missing"}

	if err := f.db.RecordDrift(ctx, r.ID, 1, changes, false); err != nil {
		t.Fatal(err)
	}
	if got := wantStatus(t, f.db, r.ID, store.StatusActive); !got.Drifted {
		t.Fatal("Drifted = false after drift")
	}
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventDrift})
	if err != nil || len(events) != 1 || len(events[0].Data["changes"].([]any)) != 2 {
		t.Fatalf("drift events = %+v, %v", events, err)
	}
	// A clean check clears the flag and writes nothing.
	if err := f.db.RecordDrift(ctx, r.ID, 1, nil, false); err != nil {
		t.Fatal(err)
	}
	if got := wantStatus(t, f.db, r.ID, store.StatusActive); got.Drifted {
		t.Fatal("Drifted = true after a clean check")
	}
	if countEvents(t, f.db, r.ID, store.EventDrift) != 1 {
		t.Fatal("a clean check wrote a drift event")
	}
	// Repaired drift is recorded but leaves the role clean.
	if err := f.db.RecordDrift(ctx, r.ID, 1, changes[:1], true); err != nil {
		t.Fatal(err)
	}
	if got := wantStatus(t, f.db, r.ID, store.StatusActive); got.Drifted {
		t.Fatal("Drifted = true after a repair")
	}
	if countEvents(t, f.db, r.ID, store.EventDrift) != 2 || countEvents(t, f.db, r.ID, store.EventDriftRepaired) != 1 {
		t.Fatal("want a second drift event and one drift.repaired")
	}
}

// A change waiting for approval neither stops the live role's clock nor
// shields it from revocation.
func TestLiveRoleWithAPendingChange(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	exp := f.clock.Now().Add(2 * time.Hour)
	r := activate(t, f, mustCreate(t, f.db, expiring(newRequest("reports-reader", "alice"), exp)))
	later := exp.Add(30 * 24 * time.Hour) // the change asks for a month more
	next := withScopes(r.Spec, read("reports"))
	next.ExpiresAt = &later
	pending, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: next, Justification: "extend"})
	if err != nil {
		t.Fatal(err)
	}
	if a := f.db.Allowed(dave, pending); !a.Revoke || !a.Approve {
		t.Fatalf("Allowed(admin) on a live role with a pending change = %+v", a)
	}

	f.clock.Advance(90 * time.Minute)
	if n, err := f.db.RemindExpiring(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("RemindExpiring = %d, %v; want the live role reminded", n, err)
	}
	reminders, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventExpiryReminder})
	if err != nil || len(reminders) != 1 || reminders[0].Version != 1 {
		t.Fatalf("reminders = %+v, %v; want one about the live version 1", reminders, err)
	}
	f.clock.Advance(time.Hour)
	if n, err := f.db.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireDue = %d, %v; want the live role expired despite its pending change", n, err)
	}
	wantStatus(t, f.db, r.ID, store.StatusRevoking)
	w, err := f.db.BeginRevocation(ctx, r.ID)
	if err != nil || w.Version != 1 {
		t.Fatalf("BeginRevocation = %+v, %v; want the live version 1", w, err)
	}
	_, err = f.db.Decide(ctx, bob, r.ID, 2, store.Decision{Approve: true})
	wantErr(t, err, store.ErrConflict, "is revoking")
	if done, err := f.db.CompleteRevocation(ctx, r.ID, nil); err != nil || done.Status != store.StatusExpired {
		t.Fatalf("CompleteRevocation = %+v, %v", done, err)
	}

	// The owner may revoke while a change waits.
	r2 := activate(t, f, mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports"))))
	if _, err := f.db.RequestChange(ctx, alice, r2.ID, store.NewVersion{Spec: withScopes(r2.Spec, write("exports")), Justification: "write"}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.db.Revoke(ctx, alice, r2.ID); err != nil || got.Status != store.StatusRevoking {
		t.Fatalf("Revoke with a pending change = %+v, %v", got, err)
	}
}
