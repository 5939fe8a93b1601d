package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// A drift check meets a role it cannot read or repair, or one that is no
// longer rolegate's: it records that role's trouble and checks the rest.

// A live role replaced in IAM by someone else's role of the same name is
// drift of that role, recorded (and not repaired: rolegate changes nothing
// it does not own); it does not stop the check of the account's other
// roles.
func TestDriftCheckRecordsAForeignRoleAndGoesOn(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	taken := e.activate("taken-over")
	other := e.activate("drifts-too")
	name := aws.String("taken-over")
	e.deleteRoleByHand(*name)
	if _, err := e.api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, Path: aws.String("/rolegate/"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("drifts-too"), Description: aws.String("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	for _, repair := range []bool{false, true} {
		found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, repair)
		if err != nil {
			t.Fatalf("repair %t: CheckDrift: %v", repair, err)
		}
		byID := driftByID(found)
		if f, ok := byID[taken.ID]; !ok || f.Repaired || len(f.Changes) != 1 || !strings.Contains(f.Changes[0], "not created by this rolegate") {
			t.Errorf("repair %t: the foreign role's drift = %+v, %t; want it recorded, not repaired", repair, f, ok)
		}
		if f, ok := byID[other.ID]; !ok || f.Repaired != repair {
			t.Errorf("repair %t: the other role's drift = %+v, %t", repair, f, ok)
		}
	}
	if got, _ := e.db.GetRequest(ctx, taken.ID); !got.Drifted {
		t.Error("the request whose role was taken over is not marked drifted")
	}
	if out, err := e.api.GetRole(ctx, &iam.GetRoleInput{RoleName: name}); err != nil || len(out.Role.Tags) != 0 {
		t.Errorf("the foreign role was changed: %+v, %v", out, err)
	}
}

// A repair IAM refuses for one role (a managed policy of its plan was
// deleted from the account) is recorded as that role's drift, not
// repaired, with IAM's reason; the account's other roles are still
// checked and repaired.
func TestDriftRepairRefusedForOneRoleGoesOn(t *testing.T) {
	t.Parallel()
	const policy = "arn:aws:iam::123456789012:policy/extra-access"
	e := setup(t, func(c *worker.Config, _ *store.Options) {
		c.Settings.AllowedManagedPolicies = []string{policy}
	})
	ctx := context.Background()
	if _, err := e.api.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("extra-access"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	created, err := e.db.CreateRequest(ctx, store.NewRequest{Justification: "tests need it", Requester: alice.Name,
		Spec: provision.RoleSpec{Name: "loses-policy", Description: "test role", ManagedPolicies: []string{policy},
			Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.approve(created.Request)
	lost := e.await(created.ID, store.StatusActive)
	other := e.activate("drifts-too")
	if _, err := e.api.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("loses-policy"), PolicyArn: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("drifts-too"), Description: aws.String("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true)
	if err != nil {
		t.Fatalf("CheckDrift: %v", err)
	}
	e.wantRepairRefused(ctx, found, lost.ID, other.ID, "NoSuchEntity")
}

// A repair write IAM denies for one role (AccessDenied: the service policy
// never lets rolegate remove a rolegate: tag added to a role by hand, say)
// is recorded as that role's drift, not repaired, and the account's other
// roles are still repaired. Credentials that do not work (InvalidClientTokenId) fail the
// whole account: it is skipped and reported.
func TestDriftRepairDeniedForOneRoleGoesOn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code        string
		accountFail bool
	}{{"AccessDenied", false}, {"InvalidClientTokenId", true}} {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			ctx := context.Background()
			denied, other := e.twoDrifted("denied-repair", "repaired-anyway")
			e.iam.FailNth("UpdateRole", 1, tt.code) // the first role's repair
			found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true)
			if tt.accountFail {
				if err == nil || !strings.Contains(err.Error(), tt.code) {
					t.Fatalf("CheckDrift: %v, want the account's error naming %s", err, tt.code)
				}
				if len(found) != 0 {
					t.Errorf("drift found: %+v, want the account skipped", found)
				}
				if got := e.description("repaired-anyway"); got != "changed by hand" {
					t.Errorf("the other role's description is %q, want it left as it was: the account is skipped", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckDrift: %v", err)
			}
			e.wantRepairRefused(ctx, found, denied.ID, other.ID, "repair refused: iam UpdateRole: AccessDenied")
			if got := e.description("repaired-anyway"); got != "test role" {
				t.Errorf("the other role's description is %q, want its plan's back", got)
			}
		})
	}
}

// A role whose own read IAM denies after the account's bulk read
// succeeded (the service policy printed for an earlier --role-path no
// longer attached, an SCP or a boundary on its path) is that role's
// finding, recorded and not repaired; the account's other roles are still
// checked and repaired.
func TestDriftReadDeniedForOneRoleGoesOn(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	denied, other := e.twoDrifted("denied-read", "read-and-repaired")
	e.iam.FailNth("GetRole", 1, "AccessDenied") // the first role's own read, after the bulk read
	found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true)
	if err != nil {
		t.Fatalf("CheckDrift: %v", err)
	}
	e.wantRepairRefused(ctx, found, denied.ID, other.ID, "cannot be read: iam GetRole: AccessDenied")
	if got := e.description("denied-read"); got != "changed by hand" {
		t.Errorf("the role IAM would not let rolegate read has description %q, want it left as it was", got)
	}
}

// twoDrifted activates two roles, stops the worker and changes both
// roles' descriptions by hand: two drifted roles of one account, checked
// in this order.
func (e *env) twoDrifted(first, second string) (store.Request, store.Request) {
	e.t.Helper()
	a, b := e.activate(first), e.activate(second)
	e.stop()
	for _, name := range []string{first, second} {
		if _, err := e.api.UpdateRole(context.Background(), &iam.UpdateRoleInput{RoleName: aws.String(name), Description: aws.String("changed by hand")}); err != nil {
			e.t.Fatal(err)
		}
	}
	return a, b
}

// driftByID is a drift check's results by request ID.
func driftByID(found []worker.DriftResult) map[int64]worker.DriftResult {
	byID := make(map[int64]worker.DriftResult, len(found))
	for _, f := range found {
		byID[f.RequestID] = f
	}
	return byID
}

// wantRepairRefused checks the results of a drift check with repair in
// which IAM refused one role's repair: that role's drift is recorded with
// IAM's reason (found in its changes), not repaired, and its request is
// marked drifted; the other role is repaired all the same.
func (e *env) wantRepairRefused(ctx context.Context, found []worker.DriftResult, refused, other int64, reason string) {
	e.t.Helper()
	byID := driftByID(found)
	if f, ok := byID[refused]; !ok || f.Repaired || !strings.Contains(strings.Join(f.Changes, "\n"), reason) {
		e.t.Errorf("the role whose repair IAM refused: %+v, %t; want its drift recorded with IAM's reason (%s), not repaired", f, ok, reason)
	}
	if f, ok := byID[other]; !ok || !f.Repaired {
		e.t.Errorf("the other role: %+v, %t; want it repaired", f, ok)
	}
	if got, err := e.db.GetRequest(ctx, refused); err != nil || !got.Drifted {
		e.t.Errorf("the request whose repair IAM refused is not marked drifted (%v)", err)
	}
}
