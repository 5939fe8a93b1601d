package worker_test

import (
	"context"
	"testing"

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
