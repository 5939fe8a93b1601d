package provision

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// TestDriftRepair changes one attribute behind rolegate's back, then
// checks Apply reports the resource updated and IAM matches the plan again.
func TestDriftRepair(t *testing.T) {
	t.Parallel()
	type drift struct {
		name     string
		kind     ResourceKind
		boundary bool // plan with a permissions boundary
		mutate   func(t *testing.T, e *env, p Plan) error
	}
	const otherPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	drifts := []drift{
		{"trust policy", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.UpdateAssumeRolePolicy(ctxT(t), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.Role.Name),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
			return err
		}},
		{"description", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.UpdateRole(ctxT(t), &iam.UpdateRoleInput{RoleName: aws.String(p.Role.Name), Description: aws.String("changed by hand")})
			return err
		}},
		{"max session", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.UpdateRole(ctxT(t), &iam.UpdateRoleInput{RoleName: aws.String(p.Role.Name), MaxSessionDuration: aws.Int32(43200)})
			return err
		}},
		{"boundary removed", KindRole, true, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.DeleteRolePermissionsBoundary(ctxT(t), &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(p.Role.Name)})
			return err
		}},
		{"boundary added", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.PutRolePermissionsBoundary(ctxT(t), &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(p.Role.Name), PermissionsBoundary: aws.String(e.managed)})
			return err
		}},
		{"role tags", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			if _, err := e.admin.TagRole(ctxT(t), &iam.TagRoleInput{RoleName: aws.String(p.Role.Name), Tags: []types.Tag{{Key: aws.String("extra"), Value: aws.String("x")}, {Key: aws.String("team"), Value: aws.String("other")}}}); err != nil {
				return err
			}
			_, err := e.admin.UntagRole(ctxT(t), &iam.UntagRoleInput{RoleName: aws.String(p.Role.Name), TagKeys: []string{"cost-center"}})
			return err
		}},
		{"inline policy", KindInlinePolicy, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.PutRolePolicy(ctxT(t), &iam.PutRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String(p.Policy.Name), PolicyDocument: aws.String(otherPolicy)})
			return err
		}},
		{"inline policy deleted", KindInlinePolicy, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.DeleteRolePolicy(ctxT(t), &iam.DeleteRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String(p.Policy.Name)})
			return err
		}},
		{"extra inline policy", KindInlinePolicy, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.PutRolePolicy(ctxT(t), &iam.PutRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String("extra"), PolicyDocument: aws.String(otherPolicy)})
			return err
		}},
		{"attachment removed", KindAttachment, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.DetachRolePolicy(ctxT(t), &iam.DetachRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyArn: aws.String(e.managed)})
			return err
		}},
		{"extra attachment", KindAttachment, false, func(t *testing.T, e *env, p Plan) error {
			out, err := e.admin.CreatePolicy(ctxT(t), &iam.CreatePolicyInput{PolicyName: aws.String("extra-" + shortHash(t.Name())), PolicyDocument: aws.String(otherPolicy)})
			if err != nil {
				return err
			}
			_, err = e.admin.AttachRolePolicy(ctxT(t), &iam.AttachRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyArn: out.Policy.Arn})
			return err
		}},
		{"profile tags", KindInstanceProfile, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.TagInstanceProfile(ctxT(t), &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), Tags: []types.Tag{{Key: aws.String("extra"), Value: aws.String("x")}}})
			return err
		}},
		{"profile role removed", KindInstanceProfile, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.RemoveRoleFromInstanceProfile(ctxT(t), &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), RoleName: aws.String(p.Role.Name)})
			return err
		}},
		{"profile holds another role", KindInstanceProfile, false, func(t *testing.T, e *env, p Plan) error {
			other := p.Role.Name + "-other"
			if _, err := e.admin.CreateRole(ctxT(t), &iam.CreateRoleInput{RoleName: aws.String(other), AssumeRolePolicyDocument: aws.String(p.Role.TrustPolicy)}); err != nil {
				return err
			}
			if _, err := e.admin.RemoveRoleFromInstanceProfile(ctxT(t), &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), RoleName: aws.String(p.Role.Name)}); err != nil {
				return err
			}
			_, err := e.admin.AddRoleToInstanceProfile(ctxT(t), &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), RoleName: aws.String(other)})
			return err
		}},
	}
	var scenarios []scenario
	for _, d := range drifts {
		scenarios = append(scenarios, scenario{d.name, func(t *testing.T, e *env) {
			set := e.settings()
			if d.boundary {
				set.PermissionsBoundaryARN = e.managed
			}
			p := mustPlan(t, fullSpec(uniqueName(t), e.managed), set, testMeta("REQ-drift"))
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if err := d.mutate(t, e, p); err != nil {
				t.Fatalf("arranging drift: %v", err)
			}
			rep, err := e.reconciler().Apply(ctxT(t), p)
			if err != nil {
				t.Fatalf("repairing Apply: %v", err)
			}
			changed := false
			for _, r := range rep.Resources {
				if r.Kind == d.kind && (r.Outcome == OutcomeUpdated || r.Outcome == OutcomeCreated || r.Outcome == OutcomeDeleted) {
					changed = true
				}
			}
			if !changed || len(rep.Calls) == 0 {
				t.Errorf("drift in %s not reported as a change of a %s:\n%s", d.name, d.kind, rep)
			}
			assertConverged(t, e, p)
		}})
	}
	runScenarios(t, scenarios)
}

// TestApplyWaitsForVisibility uses iamlocal's consistency delay: new roles
// and profiles are invisible to reads for a while, and Apply must wait.
func TestApplyWaitsForVisibility(t *testing.T) {
	t.Parallel()
	srv, url := iamlocaltest.Start(t, iamlocal.Options{ConsistencyDelay: 150 * time.Millisecond})
	e := newEnv(t, "iamlocal", url, srv)
	e.managed = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	p := mustPlan(t, fullSpec(uniqueName(t), e.managed), e.settings(), testMeta("REQ-wait"))
	rep, err := e.reconciler().Apply(ctxT(t), p)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if rep.RoleWait < 100*time.Millisecond || rep.ProfileWait < 100*time.Millisecond {
		t.Errorf("waits = %s (role), %s (profile); want at least the simulated delay", rep.RoleWait, rep.ProfileWait)
	}
	if !strings.Contains(rep.String(), "waited") {
		t.Errorf("report does not mention the wait:\n%s", rep)
	}
}

// TestApplyWaitIsBounded: when IAM never shows the role, Apply gives up
// after VisibilityTimeout with a retryable error.
func TestApplyWaitIsBounded(t *testing.T) {
	t.Parallel()
	srv, url := iamlocaltest.Start(t, iamlocal.Options{ConsistencyDelay: time.Hour})
	e := newEnv(t, "iamlocal", url, srv)
	e.managed = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	p := mustPlan(t, fullSpec(uniqueName(t), e.managed), e.settings(), testMeta("REQ-bound"))
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	r := NewReconciler(e.client, ReconcilerOptions{VisibilityTimeout: 200 * time.Millisecond, PollMinDelay: 10 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond, Now: clock})
	rep, err := r.Apply(ctxT(t), p)
	if !errors.Is(err, errVisibilityTimeout) || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable visibility timeout", err)
	}
	if rep.RoleWait != time.Second {
		t.Errorf("RoleWait = %s, want 1s as measured by the injected clock", rep.RoleWait)
	}
}

// TestServerSideFaults uses iamlocal's own fault injection: FailNth for a
// throttled and a refused call.
func TestServerSideFaults(t *testing.T) {
	t.Parallel()
	srv, url := iamlocaltest.Start(t, iamlocal.Options{})
	e := newEnv(t, "iamlocal", url, srv)
	e.managed = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	p := mustPlan(t, fullSpec(uniqueName(t), e.managed), e.settings(), testMeta("REQ-faults"))
	srv.FailNth("CreateRole", 1, "Throttling")
	srv.FailNth("CreateInstanceProfile", 1, "ServiceFailure")
	srv.FailNth("AttachRolePolicy", 1, "LimitExceeded")
	_, err := e.reconciler().Apply(ctxT(t), p)
	var perm *PermanentError
	if !errors.As(err, &perm) || perm.Code != "LimitExceeded" {
		t.Fatalf("err = %v, want permanent LimitExceeded", err)
	}
	if n := srv.Calls("CreateRole"); n != 2 {
		t.Errorf("CreateRole called %d times, want 2 (one throttled, one retried)", n)
	}
	if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
		t.Fatalf("Apply after the fault: %v", err)
	}
	assertConverged(t, e, p)
}
