package store_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// TestSharedBucketCountFollowsTheLiveRole: the live roles counted on a
// bucket (the shared-bucket flag) are those whose live version reaches it
// while the role is in IAM: a pending change does not move the count, its
// going live does, a role being revoked still counts until it is gone,
// and roles stored before migration 00014, or stored whole by SQL as a
// seed does, count too.
func TestSharedBucketCountFollowsTheLiveRole(t *testing.T) {
	f, ctx := setup(t, store.Options{Risks: provision.RiskThresholds{SharedBucketRoles: 1}})
	counted := regexp.MustCompile(`\((\d+) other roles\)`)
	others := func(bucket string) int {
		t.Helper()
		a, err := f.db.AssessSpec(ctx, carol, provision.RoleSpec{Name: "probe", Buckets: []provision.BucketScope{read(bucket)}}, store.Request{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range a.Risks {
			if r.Code == provision.RiskSharedBucket {
				n, _ := strconv.Atoi(counted.FindStringSubmatch(r.Message)[1])
				return n
			}
		}
		return 0
	}
	want := func(stage string, counts map[string]int) {
		t.Helper()
		for bucket, n := range counts {
			if got := others(bucket); got != n {
				t.Errorf("%s: %d live roles counted on %s, want %d", stage, got, bucket, n)
			}
		}
	}

	// Two scopes of one role in one bucket are one role.
	r := activate(t, f, mustCreate(t, f.db, newRequest("reader", "alice",
		scope("alpha", "a/", provision.AccessRead), scope("alpha", "b/", provision.AccessRead))))
	mustCreate(t, f.db, newRequest("waiting", "mallory", read("alpha")))
	want("active", map[string]int{"alpha": 1, "beta": 0})

	change, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{
		Spec: withScopes(r.Spec, read("beta")), Justification: "beta instead"})
	if err != nil {
		t.Fatal(err)
	}
	want("change pending", map[string]int{"alpha": 1, "beta": 0})
	activate(t, f, change)
	want("change live", map[string]int{"alpha": 0, "beta": 1})

	if _, err := f.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	want("revoking", map[string]int{"beta": 1})
	if _, err := f.db.BeginRevocation(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteRevocation(ctx, r.ID, nil); err != nil {
		t.Fatal(err)
	}
	want("revoked", map[string]int{"alpha": 0, "beta": 0})

	// A live role written by SQL alone, request first and scopes after (as
	// the bench's seed does), is counted; so is one the migration finds.
	if _, err := f.db.Pool().Exec(ctx, `
		BEGIN;
		SET CONSTRAINTS ALL DEFERRED;
		INSERT INTO requests (account, role_name, requester, status, version, live_version, role_arn, instance_profile_arn, activated_at)
		VALUES ('default', 'seeded', 'alice', 'active', 1, 1, 'arn:aws:iam::123456789012:role/seeded',
		        'arn:aws:iam::123456789012:instance-profile/seeded', now());
		INSERT INTO request_versions (request_id, version, justification, created_by, search_doc)
		VALUES (currval(pg_get_serial_sequence('requests', 'id')), 1, 'seeded', 'alice', 'seeded');
		INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
		VALUES (currval(pg_get_serial_sequence('requests', 'id')), 1, 0, 'gamma', '', 'read');
		COMMIT`); err != nil {
		t.Fatal(err)
	}
	activate(t, f, mustCreate(t, f.db, newRequest("delta-reader", "alice", read("delta"))))
	want("seeded", map[string]int{"gamma": 1, "delta": 1, "alpha": 0})
	migrateDownBelow(t, f.db, 14)
	if _, err := f.db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	want("migrated again", map[string]int{"gamma": 1, "delta": 1, "alpha": 0, "beta": 0})
}
