package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// IAM cannot rename a role or move it to another path. A live role keeps
// the name and path it was created with when the operator changes
// --name-prefix or --role-path: a change reconciles it, the drift check
// compares it, and a revocation removes it, instead of creating a second
// role under the new name and leaving the first in IAM.
func TestLiveRoleKeepsItsNameWhenThePrefixChanges(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("kept-name", provision.BucketScope{Bucket: "team-a", Access: provision.AccessRead})

	e.stop()
	e.cfg.Settings.NamePrefix = "team-"
	e.cfg.Settings.RolePath = "/moved/"
	e.start()

	found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true)
	if err != nil || len(found) != 0 {
		t.Fatalf("drift check after the prefix changed = %+v, %v; want no drift", found, err)
	}
	spec := r.Spec
	spec.Buckets = append(spec.Buckets, provision.BucketScope{Bucket: "team-b", Access: provision.AccessRead})
	changed, err := e.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: spec, Justification: "also team-b"})
	if err != nil {
		t.Fatal(err)
	}
	e.approve(changed)
	got := e.await(r.ID, store.StatusActive)
	for got.LiveVersion != 2 {
		got = e.await(r.ID, store.StatusActive)
	}
	if got.RoleARN != "arn:aws:iam::123456789012:role/rolegate/kept-name" {
		t.Errorf("role ARN after the change = %s", got.RoleARN)
	}
	pol, err := e.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("kept-name"), PolicyName: aws.String(provision.InlinePolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(aws.ToString(pol.PolicyDocument), "team-b") {
		t.Errorf("the live role did not get the change: %s", aws.ToString(pol.PolicyDocument))
	}
	if e.roleExists("team-kept-name") {
		t.Error("the change created a second role under the new prefix")
	}

	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	e.await(r.ID, store.StatusRevoked)
	if e.roleExists("kept-name") || e.profileExists("kept-name") {
		t.Fatal("the revoked role (or its instance profile) is still in IAM")
	}
}

// A request whose provisioning began (the role created) and did not finish
// keeps the name and path it began with when the name prefix and role
// path change before it is tried again: the retry completes that role,
// rather than creating a second one under the new name and leaving the
// first in IAM for ever.
func TestBegunRoleKeepsItsNameWhenThePrefixChanges(t *testing.T) {
	t.Parallel()
	moved := func(s *provision.Settings) { s.NamePrefix, s.RolePath = "team-", "/moved/" }
	t.Run("failed, then retried by an admin", func(t *testing.T) {
		t.Parallel()
		e := setup(t, nil)
		e.iam.FailNth("PutRolePolicy", 1, "AccessDenied") // after CreateRole
		r := e.submit("begun")
		e.approve(r)
		e.await(r.ID, store.StatusFailed)
		if !e.roleExists("begun") {
			t.Fatal("the failed attempt did not create the role")
		}
		e.reopen(moved)
		if _, err := e.db.Retry(context.Background(), carol, r.ID); err != nil {
			t.Fatal(err)
		}
		e.completedUnderItsFirstName(r.ID, "begun")
	})
	t.Run("cut short, then resumed", func(t *testing.T) {
		t.Parallel()
		g := &gate{action: "PutRolePolicy", open: make(chan struct{}), held: make(chan struct{}, 1)}
		e := setupGated(t, g, nil)
		r := e.submit("begun")
		e.approve(r)
		select {
		case <-g.held:
		case <-time.After(30 * time.Second):
			t.Fatal("the job never reached PutRolePolicy")
		}
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		if err := e.w.Stop(cancelled); err != nil {
			t.Fatal(err)
		}
		e.w = nil
		if !e.roleExists("begun") {
			t.Fatal("the attempt cut short did not create the role")
		}
		close(g.open)
		e.reopen(moved)
		e.completedUnderItsFirstName(r.ID, "begun")
	})
}

// completedUnderItsFirstName waits until request id is active and fails
// the test unless its role is name at /rolegate/, the one role in IAM; then
// revokes it and checks that the revocation removed it.
func (e *env) completedUnderItsFirstName(id int64, name string) {
	e.t.Helper()
	got := e.await(id, store.StatusActive)
	if want := "arn:aws:iam::123456789012:role/rolegate/" + name; got.RoleARN != want {
		e.t.Errorf("role ARN = %s, want %s", got.RoleARN, want)
	}
	if roles := e.roleNames(); len(roles) != 1 || roles[0] != name {
		e.t.Fatalf("roles in IAM = %v, want only %s", roles, name)
	}
	if _, err := e.db.Revoke(context.Background(), alice, id); err != nil {
		e.t.Fatal(err)
	}
	e.await(id, store.StatusRevoked)
	if roles := e.roleNames(); len(roles) != 0 || e.profileExists(name) {
		e.t.Fatalf("after the revocation the roles in IAM are %v (instance profile left: %v)", roles, e.profileExists(name))
	}
}

// A request that failed after creating its role, and is revoked after the
// name prefix and role path changed, has the role of its first name
// removed: it is the one that exists.
func TestRevocationOfABegunRoleAfterThePrefixChanges(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.iam.FailNth("AddRoleToInstanceProfile", 1, "AccessDenied") // after the role and its profile
	r := e.submit("half-made")
	e.approve(r)
	e.await(r.ID, store.StatusFailed)
	if !e.roleExists("half-made") || !e.profileExists("half-made") {
		t.Fatal("the failed attempt did not create the role and its instance profile")
	}
	e.reopen(func(s *provision.Settings) { s.NamePrefix, s.RolePath = "team-", "/moved/" })
	if _, err := e.db.Revoke(context.Background(), alice, r.ID); err != nil {
		t.Fatal(err)
	}
	e.await(r.ID, store.StatusRevoked)
	if e.roleExists("half-made") || e.profileExists("half-made") {
		t.Fatal("the revocation left the role (or its instance profile) of the request's first name in IAM")
	}
}

// roleNames lists the names of the roles in IAM.
func (e *env) roleNames() []string {
	e.t.Helper()
	out, err := e.api.ListRoles(context.Background(), &iam.ListRolesInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	names := make([]string, 0, len(out.Roles))
	for _, r := range out.Roles {
		names = append(names, aws.ToString(r.RoleName))
	}
	return names
}
