package worker_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// TestBulkDriftCheckMatchesPerRole plants drifts among clean active roles
// and checks that the bulk drift check finds the same roles with the same
// changes as the per-role check, reading IAM in bulk once and each role on
// its own only to confirm a drift; then that repair puts them back and
// leaves a role rolegate did not create alone.
func TestBulkDriftCheckMatchesPerRole(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	var reqs []store.Request
	for i := range 12 {
		r := e.submit(fmt.Sprintf("bulk-%02d", i))
		e.approve(r)
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		e.await(r.ID, store.StatusActive)
	}
	e.stop()
	outsider := &iam.CreateRoleInput{RoleName: aws.String("outsider"), Description: aws.String("not rolegate's"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}
	if _, err := e.api.CreateRole(ctx, outsider); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("bulk-02"), Description: aws.String("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("bulk-05"), PolicyName: aws.String("extra"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String("bulk-09"),
		Tags: []types.Tag{{Key: aws.String("extra"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}

	perRole, err := worker.CheckDriftPerRole(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false)
	if err != nil {
		t.Fatalf("CheckDriftPerRole: %v", err)
	}
	e.iam.ResetCounters()
	bulk, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false)
	if err != nil {
		t.Fatalf("CheckDrift: %v", err)
	}
	if !reflect.DeepEqual(bulk, perRole) {
		t.Errorf("bulk check found %+v\nper-role check found %+v", bulk, perRole)
	}
	var names []string
	for _, d := range bulk {
		names = append(names, d.RoleName)
	}
	if want := []string{"bulk-02", "bulk-05", "bulk-09"}; !reflect.DeepEqual(names, want) {
		t.Errorf("drifted roles %v, want %v", names, want)
	}
	for action, want := range map[string]int{"GetAccountAuthorizationDetails": 1, "ListRoles": 1, "GetRole": 3, "ListRolePolicies": 3} {
		if n := e.iam.Calls(action); n != want {
			t.Errorf("the bulk check made %d %s calls, want %d (one bulk read, one confirmation a drifted role); all its calls: %v",
				n, action, want, e.iam.CallCounts())
		}
	}

	repaired, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true)
	if err != nil || len(repaired) != 3 || !repaired[0].Repaired {
		t.Fatalf("repair: %+v, %v", repaired, err)
	}
	if again, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false); err != nil || len(again) != 0 {
		t.Fatalf("after repair: %+v, %v", again, err)
	}
	got, err := e.api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("outsider")})
	if err != nil || aws.ToString(got.Role.Description) != "not rolegate's" {
		t.Fatalf("the role rolegate did not create was touched: %v, %v", got, err)
	}
}

// TestBulkDriftCheckWithoutActiveRolesReadsNothing: with no active role
// the check makes no IAM call at all.
func TestBulkDriftCheckWithoutActiveRolesReadsNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.stop()
	e.iam.ResetCounters()
	found, err := worker.CheckDrift(context.Background(), e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false)
	if err != nil || len(found) != 0 {
		t.Fatalf("CheckDrift: %+v, %v", found, err)
	}
	if n := e.iam.Calls("GetAccountAuthorizationDetails") + e.iam.Calls("ListRoles"); n != 0 {
		t.Errorf("%d IAM calls with no active role, want none", n)
	}
}

// TestBulkDriftCheckNamesMissingPermission: a principal whose policy
// predates the bulk reads gets an error that says what to grant.
func TestBulkDriftCheckNamesMissingPermission(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.activate("unreadable")
	e.stop()
	e.iam.FailNth("GetAccountAuthorizationDetails", 1, "AccessDenied")
	_, err := worker.CheckDrift(context.Background(), e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false)
	if err == nil || !strings.Contains(err.Error(), "iam:GetAccountAuthorizationDetails and iam:ListRoles") {
		t.Fatalf("CheckDrift without the bulk permission: %v, want an error naming the permissions", err)
	}
}

// TestDriftCheckCoversLiveRoleWhoseChangeFailed: a change to a live role
// fails part-way (its description reached IAM, its policy did not), so
// the request is failed while its live version stays in IAM. The drift
// check still compares that role with the live version: it reports both
// the half-applied change and a policy added by hand, and repair puts the
// role back to the live version, not to the change that failed.
func TestDriftCheckCoversLiveRoleWhoseChangeFailed(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("half-changed")
	e.iam.FailNth("PutRolePolicy", 1, "MalformedPolicyDocument")
	v2, err := e.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Justification: "more",
		Spec: provision.RoleSpec{Name: "half-changed", Description: "the change that failed", Buckets: []provision.BucketScope{
			{Bucket: "example-bucket", Access: provision.AccessRead}, {Bucket: "other-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.approve(v2)
	failed := e.await(r.ID, store.StatusFailed)
	if failed.LiveVersion != 1 || failed.Version != 2 {
		t.Fatalf("after the failed change: live version %d, version %d; want 1 and 2", failed.LiveVersion, failed.Version)
	}
	e.stop()
	if _, err := e.api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("half-changed"), PolicyName: aws.String("extra"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	recs := provision.SingleAccount(e.cfg.Reconciler)

	found, err := worker.CheckDrift(ctx, e.db, recs, e.cfg.Settings, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].RequestID != r.ID || found[0].Repaired {
		t.Fatalf("drift check of a live role whose change failed: %+v, want its drift found", found)
	}
	if got := strings.Join(found[0].Changes, "\n"); !containsAll(got, "extra", "description") {
		t.Errorf("changes %q, want the policy added by hand and the change's description", got)
	}
	if got, _ := e.db.GetRequest(ctx, r.ID); !got.Drifted || got.Status != store.StatusFailed {
		t.Fatalf("after the check: %s, drifted %v; want failed and drifted", got.Status, got.Drifted)
	}

	repaired, err := worker.CheckDrift(ctx, e.db, recs, e.cfg.Settings, true)
	if err != nil || len(repaired) != 1 || !repaired[0].Repaired {
		t.Fatalf("repair: %+v, %v", repaired, err)
	}
	if got := e.description("half-changed"); got != "test role" {
		t.Fatalf("after repair the role's description is %q, want the live version's", got)
	}
	names, err := e.api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("half-changed")})
	if err != nil || !reflect.DeepEqual(names.PolicyNames, []string{provision.InlinePolicyName}) {
		t.Fatalf("after repair the inline policies are %v (%v), want only rolegate's", names, err)
	}
	pol, err := e.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("half-changed"), PolicyName: aws.String(provision.InlinePolicyName)})
	if err != nil || strings.Contains(aws.ToString(pol.PolicyDocument), "other-bucket") {
		t.Fatalf("after repair the policy is %v (%v), want the live version's", pol, err)
	}
	if again, err := worker.CheckDrift(ctx, e.db, recs, e.cfg.Settings, false); err != nil || len(again) != 0 {
		t.Fatalf("after repair: %+v, %v", again, err)
	}
	got, err := e.db.GetRequest(ctx, r.ID)
	if err != nil || got.Drifted || got.Status != store.StatusFailed || got.LiveVersion != 1 || got.Version != 2 {
		t.Fatalf("after repair: %+v, %v; want failed at version 2, live version 1, not drifted", got, err)
	}
}

// A role the bulk read cannot answer for (deleted by hand, so absent from
// it) is read on its own once: that read is already the confirmation a
// drift found in bulk gets, so it is not read a second time.
func TestBulkDriftCheckReadsARoleItDoesNotHoldOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	gone := e.activate("deleted-by-hand")
	e.activate("stays-clean")
	e.stop()
	e.deleteRoleByHand("deleted-by-hand")
	e.iam.ResetCounters()
	found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false)
	if err != nil {
		t.Fatalf("CheckDrift: %v", err)
	}
	if len(found) != 1 || found[0].RequestID != gone.ID {
		t.Fatalf("drift found: %+v, want only the deleted role's", found)
	}
	if n := e.iam.Calls("GetRole"); n != 1 {
		t.Errorf("the check made %d GetRole calls, want 1 (the deleted role read once, the clean one not at all); all its calls: %v",
			n, e.iam.CallCounts())
	}
}
