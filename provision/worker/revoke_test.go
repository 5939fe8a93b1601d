package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// A revocation that begins while a provisioning job is writing to IAM
// wins: the job stops at its next write and does not complete, and the
// revocation removes everything once the job has stopped, including what
// the job created after the revocation began. Both for a first version
// and for a change to a live role.
func TestRevokeWhileProvisioningWins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		action string // the IAM call the job is held in
		change bool
	}{
		{"first version", "CreateInstanceProfile", false},
		{"change to a live role", "PutRolePolicy", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := &gate{action: tc.action, open: make(chan struct{}), held: make(chan struct{}, 1)}
			if tc.change {
				g.pass.Store(1) // version 1 puts its policy freely
			}
			e := setupGated(t, g, nil)
			ctx := context.Background()
			r := e.submit("contested")
			e.approve(r)
			if tc.change {
				e.await(r.ID, store.StatusActive)
				v2, err := e.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Justification: "more",
					Spec: provision.RoleSpec{Name: "contested", Description: "test role", Buckets: []provision.BucketScope{
						{Bucket: "example-bucket", Access: provision.AccessRead}, {Bucket: "other-bucket", Access: provision.AccessRead}}}})
				if err != nil {
					t.Fatal(err)
				}
				e.approve(v2)
			}
			select {
			case <-g.held:
			case <-time.After(30 * time.Second):
				t.Fatalf("the provisioning job never reached %s", tc.action)
			}
			got, err := e.db.Revoke(ctx, alice, r.ID)
			if err != nil {
				t.Fatalf("revoke while provisioning: %v", err)
			}
			if got.Status != store.StatusRevoking {
				t.Fatalf("after revoke: %s", got.Status)
			}
			// Let the revocation job try first, while the provisioning job is
			// held in its IAM call.
			eventually(t, func() (bool, string) {
				var tried bool
				if err := e.db.Pool().QueryRow(ctx, `SELECT coalesce(bool_and(attempted_at IS NOT NULL AND state <> 'running'), false)
					FROM river_job WHERE kind = 'revoke' AND (args->>'request_id')::bigint = $1`, r.ID).Scan(&tried); err != nil {
					t.Fatal(err)
				}
				return tried, "the revocation job never ran"
			})
			close(g.open) // the held call goes through, after the revocation began
			done := e.await(r.ID, store.StatusRevoked)
			if tc.change && (done.Version != 1 || done.LiveVersion != 1) {
				t.Fatalf("revoked at version %d, live %d", done.Version, done.LiveVersion)
			}
			// Look at IAM only once the provisioning job has ended: a call it
			// still had in flight must not land after the check.
			eventually(t, func() (bool, string) {
				var ended bool
				if err := e.db.Pool().QueryRow(ctx, `SELECT bool_and(state IN ('completed', 'discarded', 'cancelled'))
					FROM river_job WHERE kind = 'provision' AND (args->>'request_id')::bigint = $1`, r.ID).Scan(&ended); err != nil {
					t.Fatal(err)
				}
				return ended, "the provisioning jobs never ended"
			})
			if e.roleExists("contested") || e.profileExists("contested") {
				t.Fatal("the provisioning job left (or put back) the role or its profile after the revocation")
			}
			if n := countKind(t, e, r.ID, store.EventActive); (tc.change && n != 1) || (!tc.change && n != 0) {
				t.Fatalf("%d request.active events: the superseded version went live", n)
			}
		})
	}
}

func countKind(t *testing.T, e *env, id int64, kind string) int {
	t.Helper()
	events, err := e.db.ListEvents(context.Background(), store.EventFilter{RequestID: id, Kind: kind, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

// A first provisioning stopped by a foreign instance profile of the same
// name leaves the role rolegate created. Revoking the failed request
// removes that role and its policy, leaves the foreign profile alone, and
// frees the name for a new request.
func TestRevokeFailedFirstProvisioningRemovesOnlyWhatIsOurs(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	if _, err := e.api.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String("squatted"), Path: aws.String("/rolegate/")}); err != nil {
		t.Fatal(err)
	}
	r := e.submit("squatted")
	e.approve(r)
	failed := e.await(r.ID, store.StatusFailed)
	if !e.roleExists("squatted") {
		t.Fatalf("the role should have been created before the profile clash (%s)", failed.StatusReason)
	}
	if a := e.db.Allowed(alice, failed); !a.Revoke {
		t.Fatalf("the requester may not revoke the failed request: %+v", a)
	}
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	e.await(r.ID, store.StatusRevoked)
	e.revokedLeavingForeignProfile(r.ID, "squatted")
	// The name is free: a new request for it may be made.
	e.submit("squatted")
}

// A live role whose instance profile someone replaced with their own of
// the same name (holding the role) is still revoked: the role, which is
// rolegate's, leaves the foreign profile and is removed; the foreign
// profile is left alone and reported. Failing instead would leave the
// revoked (or expired) role's permissions in IAM for good, since a retry
// finds the same profile.
func TestRevokeLiveRoleWhoseProfileIsSomeoneElses(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("profile-taken")
	e.replaceProfile("profile-taken")
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.awaitAny(r.ID, revokedOrFailed); got.Status != store.StatusRevoked {
		t.Fatalf("revocation ended %s (%s), want revoked", got.Status, got.StatusReason)
	}
	e.revokedLeavingForeignProfile(r.ID, "profile-taken")
}

// IAM tag keys ignore case: a role may carry rolegate's tags with their
// keys in another case (someone untagged and tagged it again), and still
// be rolegate's. It is neither drift nor someone else's role, a repair
// leaves its tags on, and a revocation removes it.
func TestTagKeysInAnotherCaseStillProveOwnership(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *worker.Config, _ *store.Options) {
		c.Settings.Tags = map[string]string{"Team": "data"}
	})
	ctx := context.Background()
	r := e.activate("recased")
	name := aws.String("recased")
	if _, err := e.api.UntagRole(ctx, &iam.UntagRoleInput{RoleName: name, TagKeys: []string{provision.TagManagedBy, "Team"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.TagRole(ctx, &iam.TagRoleInput{RoleName: name, Tags: []types.Tag{
		{Key: aws.String(strings.ToUpper(provision.TagManagedBy)), Value: aws.String(provision.ManagedByValue)},
		{Key: aws.String("team"), Value: aws.String("data")}}}); err != nil {
		t.Fatal(err)
	}
	found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true)
	if err != nil || len(found) != 0 {
		t.Fatalf("drift check of a role whose tag keys changed case = %+v, %v; want none", found, err)
	}
	out, err := e.api.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Role.Tags) != 4 {
		t.Fatalf("tags after the drift check: %+v, want rolegate's three and the team", out.Role.Tags)
	}
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.awaitAny(r.ID, revokedOrFailed); got.Status != store.StatusRevoked || e.roleExists("recased") {
		t.Fatalf("revocation ended %s (%s); role still there: %t", got.Status, got.StatusReason, e.roleExists("recased"))
	}
}

// Someone putting the role in an instance profile (or attaching a policy
// to it) while a revocation removes it makes IAM refuse to delete the role
// (DeleteConflict). A second pass removes that too: the revocation is
// retried, not failed, so an expired role does not stay in IAM.
func TestRevocationRetriesARoleGivenMoreMeanwhile(t *testing.T) {
	t.Parallel()
	g := &gate{action: "DeleteRole", open: make(chan struct{}), held: make(chan struct{}, 1)}
	e := setupGated(t, g, nil)
	ctx := context.Background()
	r := e.activate("held-on")
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the revocation never reached DeleteRole")
	}
	if _, err := e.api.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("someone-elses")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("someone-elses"),
		RoleName: aws.String("held-on")}); err != nil {
		t.Fatal(err)
	}
	close(g.open)
	eventually(t, func() (bool, string) {
		got, err := e.db.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status == store.StatusRevoked || got.Status == store.StatusFailed, "request is " + string(got.Status)
	})
	if got, _ := e.db.GetRequest(ctx, r.ID); got.Status != store.StatusRevoked || e.roleExists("held-on") {
		t.Fatalf("revocation ended %s (%s); role still there: %t", got.Status, got.StatusReason, e.roleExists("held-on"))
	}
	if !e.profileExists("someone-elses") {
		t.Fatal("someone else's instance profile was removed")
	}
}

// A revocation whose last attempt runs out of time (--job-timeout) ends
// the request failed, with the reason, so it can be revoked again: left
// revoking with no job to finish it, it could be neither revoked again
// nor retried, and the role would stay in IAM.
func TestRevocationTimingOutOnItsLastAttemptFails(t *testing.T) {
	t.Parallel()
	g := &gate{action: "DeleteRole", open: make(chan struct{}), held: make(chan struct{}, 1)}
	e := setupGated(t, g, func(c *worker.Config) {
		c.MaxAttempts = 1
		c.JobTimeout = 2 * time.Second
	})
	t.Cleanup(func() { close(g.open) })
	ctx := context.Background()
	r := e.activate("slow-to-go")
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() (bool, string) {
		var state string
		if err := e.db.Pool().QueryRow(ctx, `SELECT state FROM river_job WHERE kind = 'revoke' AND (args->>'request_id')::bigint = $1`,
			r.ID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		return state == "discarded" || state == "completed", "the revocation job is " + state
	})
	got, err := e.db.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusFailed || got.StatusReason == "" {
		t.Fatalf("after the revocation's last attempt timed out the request is %s (%q), want failed with the reason", got.Status, got.StatusReason)
	}
}

// rolegate's own service policy lets it change only instance profiles
// tagged managed-by=rolegate (ChangeOwnProfiles), so IAM denies taking a
// revoked role out of someone else's profile. The revocation then fails,
// but not before the role has lost every permission: its policies are
// removed before it leaves its profiles, so a role that cannot be deleted
// grants nothing.
func TestRevokeDeniedLeavingForeignProfileStripsPermissions(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("profile-denied")
	name := aws.String("profile-denied")
	e.replaceProfile(*name)
	// What IAM answers rolegate's principal for the untagged profile.
	for n := 1; n <= e.cfg.MaxAttempts; n++ {
		e.iam.FailNth("RemoveRoleFromInstanceProfile", n, "AccessDenied")
	}
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	got := e.await(r.ID, store.StatusFailed)
	if !strings.Contains(got.StatusReason, "AccessDenied") {
		t.Fatalf("the revocation failed with %q, want IAM's AccessDenied", got.StatusReason)
	}
	inline, err := e.api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: name})
	if err != nil {
		t.Fatal(err)
	}
	attached, err := e.api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(inline.PolicyNames) > 0 || len(attached.AttachedPolicies) > 0 {
		t.Fatalf("the role whose revocation failed still grants: inline %v, attached %d", inline.PolicyNames, len(attached.AttachedPolicies))
	}
}

// A request whose provisioning job River discarded (the worker died in
// its last attempt) does not wait for ever: the periodic housekeeping
// fails it, saying why, for an admin to retry.
func TestRequestWhoseJobWasDiscardedFails(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *worker.Config, _ *store.Options) { c.ExpiryInterval = 50 * time.Millisecond })
	e.stop()
	r := e.submit("orphaned")
	e.approve(r)
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE river_job SET state = 'discarded', finalized_at = now(),
		attempt = max_attempts WHERE kind = 'provision' AND (args->>'request_id')::bigint = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	e.start()
	got := e.await(r.ID, store.StatusFailed)
	if !strings.Contains(got.StatusReason, "its job ended without finishing") {
		t.Fatalf("failed for %q", got.StatusReason)
	}
}
