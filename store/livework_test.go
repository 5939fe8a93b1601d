package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// LiveWork pages through the live roles and gives each its live version,
// not a change waiting on it; requests with no role in IAM are not listed.
func TestLiveWorkGivesEachLiveRoleItsLiveVersion(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	a := activate(t, f, mustCreate(t, f.db, newRequest("live-a", "alice", read("alpha"))))
	mustCreate(t, f.db, newRequest("never-live", "alice", read("beta")))
	b := activate(t, f, mustCreate(t, f.db, newRequest("live-b", "alice", read("gamma"), read("delta"))))
	// A change waits on a: its role stays at version 1 in IAM.
	if _, err := f.db.RequestChange(ctx, alice, a.ID, store.NewVersion{Spec: withScopes(a.Spec, read("omega")), Justification: "more"}); err != nil {
		t.Fatal(err)
	}
	var got []store.Work
	for after := int64(0); ; {
		page, err := f.db.LiveWork(ctx, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].Request.ID
	}
	if len(got) != 2 || got[0].Request.ID != a.ID || got[1].Request.ID != b.ID {
		t.Fatalf("LiveWork listed %+v, want requests %d and %d", got, a.ID, b.ID)
	}
	for i, want := range []store.Request{a, b} {
		w := got[i]
		if w.Version != 1 || w.Spec.Name != want.Spec.Name || fmt.Sprint(w.Spec.Buckets) != fmt.Sprint(want.Spec.Buckets) ||
			len(w.Approvers) != 1 || w.Approvers[0] != "bob" || w.ApprovedAt.IsZero() {
			t.Fatalf("work of request %d: %+v, want version 1 of %+v approved by bob", want.ID, w, want.Spec)
		}
	}
	if got[0].Request.Version != 2 {
		t.Fatalf("work of request %d carries the request at version %d, want 2 (the change)", a.ID, got[0].Request.Version)
	}
}

// BenchmarkLiveWork reads the work of 100 live roles, a drift check's
// page, in one round trip (LiveWork) against the two reads a role it made
// before (GetRequest and ListVersions per role), in the same run.
func BenchmarkLiveWork(b *testing.B) {
	const roles = 100
	db := storetest.New(b)
	ctx := context.Background()
	approver := store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}
	for i := range roles {
		r, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "benchmark",
			Spec: provision.RoleSpec{Name: fmt.Sprintf("live-%d", i),
				Buckets: []provision.BucketScope{{Bucket: "example-bucket", Prefix: "reports/", Access: provision.AccessRead}}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Decide(ctx, approver, r.ID, 1, store.Decision{Approve: true}); err != nil {
			b.Fatal(err)
		}
		storetest.Provision(b, db, r.ID, 1)
	}
	b.Run("per-role", func(b *testing.B) {
		for b.Loop() {
			for id := int64(1); id <= roles; id++ {
				if _, err := db.GetRequest(ctx, id); err != nil {
					b.Fatal(err)
				}
				if _, err := db.ListVersions(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			if w, err := db.LiveWork(ctx, 0, roles); err != nil || len(w) != roles {
				b.Fatalf("LiveWork: %d roles, %v", len(w), err)
			}
		}
	})
}
