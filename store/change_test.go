package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestChangeRequestOnALiveRole(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	v1 := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice", read("alpha"), read("beta"), read("gamma"))))

	renamed := withScopes(v1.Spec, read("alpha"))
	renamed.Name = "other-name"
	_, err := f.db.RequestChange(ctx, alice, v1.ID, store.NewVersion{Spec: renamed, Justification: "rename"})
	var verr *provision.ValidationError
	if !errors.As(err, &verr) || verr.Problems[0].Field != "name" {
		t.Fatalf("rename: err = %v, want a validation error on name", err)
	}

	next := withScopes(v1.Spec, provision.BucketScope{Bucket: "alpha", Access: provision.AccessReadWrite}, read("beta"), write("delta"))
	v2, err := f.db.RequestChange(ctx, alice, v1.ID, store.NewVersion{Spec: next, Justification: "the job now writes"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Status != store.StatusPending || v2.LiveVersion != 1 || v2.RoleARN != v1.RoleARN {
		t.Fatalf("after the change request: %+v", v2)
	}
	wantDiff := []string{"+ `delta/` (write)", "- `gamma/` (read)", "~ `alpha/` (read -> read-write)"}
	if got := store.DiffSpecs(v1.Spec, next).Lines(); !slices.Equal(got, wantDiff) {
		t.Fatalf("DiffSpecs = %q, want %q", got, wantDiff)
	}
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: v1.ID, Kind: store.EventChangeSubmitted})
	if err != nil || len(events) != 1 || events[0].Version != 2 {
		t.Fatalf("change events = %+v, %v", events, err)
	}
	var lines []string
	for _, l := range events[0].Data["diff"].([]any) {
		lines = append(lines, l.(string))
	}
	if !slices.Equal(lines, wantDiff) {
		t.Fatalf("diff in the event = %q, want %q", lines, wantDiff)
	}

	// Writes need two approvals; the second enqueues version 2.
	approve(t, f.db, bob, v2)
	v2 = approve(t, f.db, carol, v2)
	if v2.Status != store.StatusApproved {
		t.Fatalf("after two approvals: %s", v2.Status)
	}
	jobs := jobArgs(t, f.db, "provision", v1.ID)
	if len(jobs) != 2 || jobs[1]["version"] != float64(2) {
		t.Fatalf("provision jobs = %v, want one for version 2", jobs)
	}
	_, err = f.db.BeginProvisioning(ctx, v1.ID, 1) // an old job for version 1
	wantErr(t, err, store.ErrConflict, "not at version 1")
	live := provisionNow(t, f, v2)
	if live.LiveVersion != 2 || live.Status != store.StatusActive {
		t.Fatalf("after provisioning version 2: %+v", live)
	}

	vs, err := f.db.ListVersions(ctx, v1.ID)
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if vs[0].Terraform != string(result("reports-reader", 1).Terraform) || vs[1].Terraform != string(result("reports-reader", 2).Terraform) {
		t.Fatalf("Terraform of the versions: %q / %q", vs[0].Terraform, vs[1].Terraform)
	}
	if fmt.Sprint(vs[1].Spec.Buckets) != fmt.Sprint(next.Buckets) || vs[1].Justification != "the job now writes" ||
		vs[1].CreatedBy != "alice" || fmt.Sprint(vs[0].Spec.Buckets) != fmt.Sprint(v1.Spec.Buckets) {
		t.Fatalf("stored versions: v1 %v, v2 %v %q by %s", vs[0].Spec.Buckets, vs[1].Spec.Buckets, vs[1].Justification, vs[1].CreatedBy)
	}
	if len(vs[1].Decisions) != 2 || len(vs[0].Decisions) != 1 {
		t.Fatalf("decisions per version: %d, %d", len(vs[0].Decisions), len(vs[1].Decisions))
	}
	// Stored Terraform never changes.
	_, err = f.db.Pool().Exec(ctx, `UPDATE request_versions SET terraform = 'tampered' WHERE request_id = $1 AND version = 1`, v1.ID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("updating stored Terraform: err = %v, want insufficient_privilege", err)
	}
}

func TestRejectedChangeLeavesTheLiveRole(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	v1 := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice", read("alpha"))))
	escalate := withScopes(v1.Spec, write("alpha"))
	v2, err := f.db.RequestChange(ctx, alice, v1.ID, store.NewVersion{Spec: escalate, Justification: "write"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.db.Decide(ctx, bob, v2.ID, 2, store.Decision{Approve: false, Comment: "no"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusActive || got.LiveVersion != 1 || got.RoleARN != v1.RoleARN {
		t.Fatalf("after rejecting the change: %+v", got)
	}
	// The request shows what IAM holds again, not the rejected scopes.
	if got.Version != 1 || fmt.Sprint(got.Spec.Buckets) != fmt.Sprint(v1.Spec.Buckets) {
		t.Fatalf("after rejecting the change the request shows version %d with %v, want the live version 1 with %v",
			got.Version, got.Spec.Buckets, v1.Spec.Buckets)
	}
	if countEvents(t, f.db, v1.ID, store.EventChangeRejected) != 1 || countEvents(t, f.db, v1.ID, store.EventRejected) != 0 {
		t.Fatal("want one change.rejected event and no request.rejected")
	}
	if n := len(jobArgs(t, f.db, "provision", v1.ID)); n != 1 {
		t.Fatalf("%d provision jobs, want only version 1's", n)
	}

	// Asking again for the same escalation shows it against what is live,
	// not against the rejected version.
	again, err := f.db.RequestChange(ctx, alice, v1.ID, store.NewVersion{Spec: escalate, Justification: "write, please"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != 3 {
		t.Fatalf("the next change is version %d, want 3 (after the rejected 2)", again.Version)
	}
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: v1.ID, Kind: store.EventChangeSubmitted})
	if err != nil || len(events) != 2 {
		t.Fatalf("change events = %+v, %v", events, err)
	}
	if diff, _ := events[1].Data["diff"].([]any); len(diff) != 1 || diff[0] != "~ `alpha/` (read -> write)" {
		t.Fatalf("diff of the second change = %v, want the escalation from the live version", events[1].Data["diff"])
	}

	// A cancelled change leaves the role live as well.
	c, err := f.db.Cancel(ctx, alice, v1.ID)
	if err != nil || c.Status != store.StatusActive || c.LiveVersion != 1 || c.Version != 1 {
		t.Fatalf("cancel the change: %+v, %v", c, err)
	}
	if countEvents(t, f.db, v1.ID, store.EventChangeCancelled) != 1 {
		t.Fatal("want one change.cancelled event")
	}
}
