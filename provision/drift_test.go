package provision

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// drift is one way a role can differ from its plan, made behind
// rolegate's back by mutate.
type drift struct {
	name     string
	kind     ResourceKind
	boundary bool // plan with a permissions boundary
	mutate   func(t *testing.T, e *env, p Plan) error
	// calls are the calls of the repairing Apply beyond those of an
	// unchanged one (see reapplyCalls), counted by iamlocal.
	calls map[string]int
}

// driftKinds are the 14 drifts the reconciler repairs and the drift check
// finds: trust policy, description, max session, boundary removed,
// boundary added, role tags, inline policy, inline policy deleted, extra
// inline policy, attachment removed, extra attachment, profile tags,
// profile role removed, profile holds another role.
func driftKinds() []drift {
	const otherPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	drifts := []drift{
		{"trust policy", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.UpdateAssumeRolePolicy(ctxT(t), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.Role.Name),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
			return err
		}, map[string]int{"UpdateAssumeRolePolicy": 1}},
		{"description", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.UpdateRole(ctxT(t), &iam.UpdateRoleInput{RoleName: aws.String(p.Role.Name), Description: aws.String("changed by hand")})
			return err
		}, map[string]int{"UpdateRole": 1}},
		{"max session", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.UpdateRole(ctxT(t), &iam.UpdateRoleInput{RoleName: aws.String(p.Role.Name), MaxSessionDuration: aws.Int32(43200)})
			return err
		}, map[string]int{"UpdateRole": 1}},
		{"boundary removed", KindRole, true, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.DeleteRolePermissionsBoundary(ctxT(t), &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(p.Role.Name)})
			return err
		}, map[string]int{"PutRolePermissionsBoundary": 1}},
		{"boundary added", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.PutRolePermissionsBoundary(ctxT(t), &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(p.Role.Name), PermissionsBoundary: aws.String(e.managed)})
			return err
		}, map[string]int{"DeleteRolePermissionsBoundary": 1}},
		{"role tags", KindRole, false, func(t *testing.T, e *env, p Plan) error {
			if _, err := e.admin.TagRole(ctxT(t), &iam.TagRoleInput{RoleName: aws.String(p.Role.Name), Tags: []types.Tag{{Key: aws.String("extra"), Value: aws.String("x")}, {Key: aws.String("team"), Value: aws.String("other")}}}); err != nil {
				return err
			}
			_, err := e.admin.UntagRole(ctxT(t), &iam.UntagRoleInput{RoleName: aws.String(p.Role.Name), TagKeys: []string{"cost-center"}})
			return err
		}, map[string]int{"TagRole": 1, "UntagRole": 1}},
		{"inline policy", KindInlinePolicy, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.PutRolePolicy(ctxT(t), &iam.PutRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String(p.Policy.Name), PolicyDocument: aws.String(otherPolicy)})
			return err
		}, map[string]int{"PutRolePolicy": 1}},
		{"inline policy deleted", KindInlinePolicy, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.DeleteRolePolicy(ctxT(t), &iam.DeleteRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String(p.Policy.Name)})
			return err
		}, map[string]int{"GetRolePolicy": -1, "PutRolePolicy": 1}},
		{"extra inline policy", KindInlinePolicy, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.PutRolePolicy(ctxT(t), &iam.PutRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String("extra"), PolicyDocument: aws.String(otherPolicy)})
			return err
		}, map[string]int{"DeleteRolePolicy": 1}},
		{"attachment removed", KindAttachment, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.DetachRolePolicy(ctxT(t), &iam.DetachRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyArn: aws.String(e.managed)})
			return err
		}, map[string]int{"AttachRolePolicy": 1}},
		{"extra attachment", KindAttachment, false, func(t *testing.T, e *env, p Plan) error {
			out, err := e.admin.CreatePolicy(ctxT(t), &iam.CreatePolicyInput{PolicyName: aws.String("extra-" + shortHash(t.Name()+p.Role.Name)), PolicyDocument: aws.String(otherPolicy)})
			if err != nil {
				return err
			}
			_, err = e.admin.AttachRolePolicy(ctxT(t), &iam.AttachRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyArn: out.Policy.Arn})
			return err
		}, map[string]int{"DetachRolePolicy": 1}},
		{"profile tags", KindInstanceProfile, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.TagInstanceProfile(ctxT(t), &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), Tags: []types.Tag{{Key: aws.String("extra"), Value: aws.String("x")}}})
			return err
		}, map[string]int{"UntagInstanceProfile": 1}},
		{"profile role removed", KindInstanceProfile, false, func(t *testing.T, e *env, p Plan) error {
			_, err := e.admin.RemoveRoleFromInstanceProfile(ctxT(t), &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), RoleName: aws.String(p.Role.Name)})
			return err
		}, map[string]int{"AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}},
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
		}, map[string]int{"RemoveRoleFromInstanceProfile": 1, "AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}},
	}
	return drifts
}

// TestDriftRepair changes one attribute behind rolegate's back, then
// checks Apply reports the resource updated and IAM matches the plan again.
func TestDriftRepair(t *testing.T) {
	t.Parallel()
	var scenarios []scenario
	for _, d := range driftKinds() {
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
			if e.srv != nil {
				e.srv.ResetCounters()
			}
			rep, err := e.reconciler().Apply(ctxT(t), p)
			if err != nil {
				t.Fatalf("repairing Apply: %v", err)
			}
			if e.srv != nil {
				assertCalls(t, "repairing Apply", e.srv, reapplyCalls(d.calls))
			}
			if !changedKind(rep, d.kind) || len(rep.Calls) == 0 {
				t.Errorf("drift in %s not reported as a change of a %s:\n%s", d.name, d.kind, rep)
			}
			assertConverged(t, e, p)
		}})
	}
	runScenarios(t, scenarios)
}

// TestApplyWaitsForVisibility uses iamlocal's consistency delay: new roles
// and profiles are invisible to reads for a while, and Apply returns only
// once both are shown, the profile holding the role, whether it read first
// or not.
func TestApplyWaitsForVisibility(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{ConsistencyDelay: 150 * time.Millisecond})
	for _, fresh := range []bool{true, false} {
		p := slimPlan(t, e, fmt.Sprintf("rg-wait-%v", fresh))
		polls := e.srv.Calls("GetInstanceProfile")
		rep, err := e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: fresh})
		if err != nil {
			t.Fatalf("Apply (fresh %v): %v", fresh, err)
		}
		assertReady(t, e, p)
		// The wait is shown by what happened, not by how long it took (a
		// loaded machine may spend most of the delay before waiting): the
		// profile was read again after a read that could not see it.
		if rep.ProfileWait <= 0 || e.srv.Calls("GetInstanceProfile")-polls < 2 {
			t.Errorf("fresh %v: waited %s for the profile over %d reads; want reads until it was shown", fresh, rep.ProfileWait,
				e.srv.Calls("GetInstanceProfile")-polls)
		}
		if !strings.Contains(rep.String(), "waited") {
			t.Errorf("report does not mention the wait:\n%s", rep)
		}
	}
}

// assertReady checks, right after Apply returned, that IAM shows the role
// and the profile holding it.
func assertReady(t *testing.T, e *env, p Plan) {
	t.Helper()
	if _, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); err != nil {
		t.Errorf("role not shown after Apply: %v", err)
	}
	out, err := e.admin.GetInstanceProfile(ctxT(t), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name)})
	if err != nil || len(out.InstanceProfile.Roles) != 1 {
		t.Errorf("profile not shown holding the role after Apply: %v", err)
	}
}

// TestResumeBeforeVisible: a run that stopped right after creating the
// role or the profile is resumed before IAM shows them to reads. The
// create meets EntityAlreadyExists and the reconciler waits for the
// entity instead of failing, reading first or not.
func TestResumeBeforeVisible(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		writes int // CreateRole; CreateRole, PutRolePolicy, CreateInstanceProfile
		fresh  bool
	}{{1, true}, {1, false}, {3, true}, {3, false}} {
		// The endpoint's clock stands still until the resume starts, so
		// what the first run created is unseen for the whole delay then.
		clock := &startableClock{at: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		e := newLocalEnv(t, iamlocal.Options{ConsistencyDelay: 200 * time.Millisecond, Now: clock.Now})
		p := slimPlan(t, e, fmt.Sprintf("rg-resume-%d-%v", tc.writes, tc.fresh))
		e.crash.set(tc.writes)
		_, err := e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: true})
		e.crash.set(-1)
		if !errors.Is(err, errCrash) {
			t.Fatalf("crash after %d writes: %v", tc.writes, err)
		}
		clock.start()
		rep, err := e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: tc.fresh})
		if err != nil {
			t.Fatalf("resume after %d writes (fresh %v): %v", tc.writes, tc.fresh, err)
		}
		if rep.RoleWait+rep.ProfileWait == 0 {
			t.Errorf("resume after %d writes (fresh %v) did not wait", tc.writes, tc.fresh)
		}
		assertReady(t, e, p)
		assertConverged(t, e, p)
	}
}

// startableClock stands at a fixed time until start, then runs.
type startableClock struct {
	mu      sync.Mutex
	at      time.Time
	started time.Time
}

func (c *startableClock) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = time.Now()
}

func (c *startableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started.IsZero() {
		return c.at
	}
	return c.at.Add(time.Since(c.started))
}

// TestApplyWaitIsBounded: when IAM never shows the new entities, Apply
// gives up after VisibilityTimeout with a retryable error.
func TestApplyWaitIsBounded(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{ConsistencyDelay: time.Hour})
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	r := NewReconciler(e.client, ReconcilerOptions{VisibilityTimeout: 200 * time.Millisecond, PollMinDelay: 10 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond, Now: clock})
	p := slimPlan(t, e, "rg-bound")
	rep, err := r.ApplyWith(ctxT(t), p, ApplyOptions{Fresh: true})
	if !errors.Is(err, errVisibilityTimeout) || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable visibility timeout", err)
	}
	if rep.ProfileWait != time.Second {
		t.Errorf("ProfileWait = %s, want 1s as measured by the injected clock", rep.ProfileWait)
	}
	// Applying again meets the role IAM does not show and waits for it.
	rep, err = r.Apply(ctxT(t), p)
	if !errors.Is(err, errVisibilityTimeout) || !IsRetryable(err) {
		t.Fatalf("second Apply: err = %v, want a retryable visibility timeout", err)
	}
	if rep.RoleWait != time.Second {
		t.Errorf("RoleWait = %s, want 1s as measured by the injected clock", rep.RoleWait)
	}
}

// TestServerSideFaults uses iamlocal's own fault injection: FailNth for a
// throttled and a refused call.
func TestServerSideFaults(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{})
	srv := e.srv
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
