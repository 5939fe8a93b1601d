package provision

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// fullSpec exercises every part of a plan: two scopes, a prefix, a managed
// policy, a longer session.
func fullSpec(name, managed string) RoleSpec {
	return RoleSpec{
		Name: name, Description: "reconciler test role",
		Buckets: []BucketScope{
			{Bucket: "team-data", Access: AccessRead},
			{Bucket: "team-logs", Prefix: "app/", Access: AccessReadWrite},
		},
		MaxSessionDuration: 7200,
		ManagedPolicies:    []string{managed},
	}
}

func planFor(t *testing.T, e *env) Plan {
	return mustPlan(t, fullSpec(uniqueName(t), e.managed), e.settings(), testMeta("REQ-"+shortHash(t.Name())))
}

// assertConverged checks IAM holds exactly the plan, and that applying
// again changes nothing.
func assertConverged(t *testing.T, e *env, p Plan) {
	t.Helper()
	ctx := ctxT(t)
	if e.srv != nil {
		e.srv.ResetCounters()
	}
	rep, err := e.reconciler().Apply(ctx, p)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	for _, r := range rep.Resources {
		if r.Outcome != OutcomeUnchanged {
			t.Errorf("second Apply: %s %s is %s (%v), want unchanged", r.Kind, r.Name, r.Outcome, r.Changes)
		}
	}
	if len(rep.Calls) != 0 {
		t.Errorf("second Apply made write calls: %v", rep.Calls)
	}
	if e.srv != nil && e.srv.WriteCalls() != 0 {
		t.Errorf("iamlocal saw %d write calls on the second Apply", e.srv.WriteCalls())
	}
	got := readBack(t, e.admin, p)
	assertMatchesPlan(t, got, p)
}

func TestReconciler(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"create from nothing", func(t *testing.T, e *env) {
			p := planFor(t, e)
			rep, err := e.reconciler().Apply(ctxT(t), p)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := map[ResourceKind]int{KindRole: 1, KindInlinePolicy: 1, KindAttachment: 1, KindInstanceProfile: 1}
			for _, r := range rep.Resources {
				if r.Outcome != OutcomeCreated {
					t.Errorf("%s %s: %s, want created", r.Kind, r.Name, r.Outcome)
				}
				if r.ARN == "" {
					t.Errorf("%s %s: no ARN", r.Kind, r.Name)
				}
				want[r.Kind]--
			}
			for k, n := range want {
				if n != 0 {
					t.Errorf("report has %d too few %s", n, k)
				}
			}
			assertConverged(t, e, p)
		}},
		{"dry run lists calls and writes nothing", func(t *testing.T, e *env) {
			p := planFor(t, e)
			rep, err := e.reconciler().DryRun(ctxT(t), p)
			if err != nil {
				t.Fatalf("DryRun: %v", err)
			}
			var actions []string
			for _, c := range rep.Calls {
				actions = append(actions, c.Action)
			}
			want := "[CreateRole PutRolePolicy AttachRolePolicy CreateInstanceProfile AddRoleToInstanceProfile]"
			if fmt.Sprint(actions) != want {
				t.Errorf("dry-run calls = %v, want %s", actions, want)
			}
			if _, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); !isNoSuchEntity(err) {
				t.Errorf("after DryRun GetRole err = %v, want NoSuchEntity", err)
			}
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatal(err)
			}
			rep, err = e.reconciler().DryRun(ctxT(t), p)
			if err != nil || len(rep.Calls) != 0 || rep.Changed() {
				t.Errorf("DryRun after Apply: calls %v changed %v err %v", rep.Calls, rep.Changed(), err)
			}
		}},
		{"converge from every partial state", func(t *testing.T, e *env) {
			base := planFor(t, e)
			steps := 5 // CreateRole, PutRolePolicy, AttachRolePolicy, CreateInstanceProfile, AddRoleToInstanceProfile
			// Crash a fresh or a reading run, resume with either.
			for mode := range 4 {
				first, then := ApplyOptions{Fresh: mode&1 == 1}, ApplyOptions{Fresh: mode&2 == 2}
				for k := 0; k < steps; k++ {
					p := base
					p.Role.Name = fmt.Sprintf("%s-%d-%d", base.Role.Name, mode, k)
					p.InstanceProfile.Name, p.InstanceProfile.RoleName = p.Role.Name, p.Role.Name
					e.crash.set(k)
					_, err := e.reconciler().ApplyWith(ctxT(t), p, first)
					e.crash.set(-1)
					if !errors.Is(err, errCrash) {
						t.Fatalf("crash after %d writes (%+v): Apply err = %v, want the crash", k, first, err)
					}
					if _, err := e.reconciler().ApplyWith(ctxT(t), p, then); err != nil {
						t.Fatalf("resume after %d writes (%+v then %+v): %v", k, first, then, err)
					}
					assertConverged(t, e, p)
				}
			}
		}},
		{"foreign role is refused", func(t *testing.T, e *env) {
			p := planFor(t, e)
			_, err := e.admin.CreateRole(ctxT(t), &iam.CreateRoleInput{RoleName: aws.String(p.Role.Name), Path: aws.String(p.Role.Path),
				AssumeRolePolicyDocument: aws.String(p.Role.TrustPolicy), Tags: []types.Tag{{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)}, {Key: aws.String(TagRequestID), Value: aws.String("someone-else")}}})
			if err != nil {
				t.Fatal(err)
			}
			if e.srv != nil {
				e.srv.ResetCounters()
			}
			for _, op := range []string{"Apply", "Destroy", "fresh Apply"} {
				var err error
				switch op {
				case "Apply":
					_, err = e.reconciler().Apply(ctxT(t), p)
				case "Destroy":
					_, err = e.reconciler().Destroy(ctxT(t), p)
				default:
					if e.srv != nil && e.srv.WriteCalls() != 0 {
						t.Errorf("refusal still made %d write calls", e.srv.WriteCalls())
					}
					// Its one write is the CreateRole IAM refuses.
					_, err = e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: true})
				}
				var perm *PermanentError
				if !errors.As(err, &perm) || perm.Code != CodeForeignEntity || IsRetryable(err) {
					t.Fatalf("%s on a foreign role: err = %v, want a permanent %s error", op, err, CodeForeignEntity)
				}
			}
			if e.srv != nil && (e.srv.WriteCalls() != 1 || e.srv.Calls("CreateRole") != 1) {
				t.Errorf("fresh refusal made %d write calls, want the one refused CreateRole", e.srv.WriteCalls())
			}
		}},
		{"foreign instance profile is refused", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.admin.CreateInstanceProfile(ctxT(t), &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), Path: aws.String(p.Role.Path)}); err != nil {
				t.Fatal(err)
			}
			for _, o := range []ApplyOptions{{}, {Fresh: true}} {
				_, err := e.reconciler().ApplyWith(ctxT(t), p, o)
				var perm *PermanentError
				if !errors.As(err, &perm) || perm.Code != CodeForeignEntity {
					t.Fatalf("Apply (%+v): err = %v, want %s", o, err, CodeForeignEntity)
				}
			}
		}},
		{"destroy from full and partial states", func(t *testing.T, e *env) {
			base := planFor(t, e)
			for k := 0; k <= 5; k++ {
				p := base
				p.Role.Name = fmt.Sprintf("%s-%d", base.Role.Name, k)
				p.InstanceProfile.Name, p.InstanceProfile.RoleName = p.Role.Name, p.Role.Name
				e.crash.set(k)
				_, err := e.reconciler().Apply(ctxT(t), p)
				e.crash.set(-1)
				if k < 5 && !errors.Is(err, errCrash) || k == 5 && err != nil {
					t.Fatalf("apply %d writes: %v", k, err)
				}
				if _, err := e.reconciler().Destroy(ctxT(t), p); err != nil {
					t.Fatalf("Destroy after %d writes: %v", k, err)
				}
				assertGone(t, e, p)
			}
			// A destroy that itself stopped part-way is finished by the next.
			p := base
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatal(err)
			}
			for k := 0; ; k++ {
				e.crash.set(k)
				_, err := e.reconciler().Destroy(ctxT(t), p)
				e.crash.set(-1)
				if err == nil {
					break
				}
				if !errors.Is(err, errCrash) {
					t.Fatalf("Destroy crashing after %d writes: %v", k, err)
				}
			}
			assertGone(t, e, p)
			rep, err := e.reconciler().Destroy(ctxT(t), p)
			if err != nil || rep.Changed() {
				t.Errorf("Destroy of nothing: changed %v err %v", rep.Changed(), err)
			}
		}},
		{"retries through throttling and 5xx", func(t *testing.T, e *env) {
			p := planFor(t, e)
			e.faults.failNext("CreateRole", 400, "Throttling")
			e.faults.failNext("CreateRole", 500, "ServiceFailure")
			e.faults.failNext("PutRolePolicy", 503, "ServiceUnavailable")
			e.faults.failNext("AddRoleToInstanceProfile", 409, "ConcurrentModification")
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply through transient faults: %v", err)
			}
			assertConverged(t, e, p)
		}},
		{"permanent error is surfaced with IAM's message", func(t *testing.T, e *env) {
			p := planFor(t, e)
			e.faults.failNext("PutRolePolicy", 400, "MalformedPolicyDocument")
			_, err := e.reconciler().Apply(ctxT(t), p)
			var perm *PermanentError
			if !errors.As(err, &perm) || perm.Code != "MalformedPolicyDocument" || perm.Op != "PutRolePolicy" ||
				perm.Message != "injected MalformedPolicyDocument for PutRolePolicy" || IsRetryable(err) {
				t.Fatalf("err = %#v, want a permanent MalformedPolicyDocument with IAM's message", err)
			}
		}},
		{"exhausted retries stay retryable", func(t *testing.T, e *env) {
			p := planFor(t, e)
			for i := 0; i < 4; i++ {
				e.faults.failNext("CreateRole", 400, "Throttling")
			}
			_, err := e.reconciler().Apply(ctxT(t), p)
			if err == nil || !IsRetryable(err) || IsPermanent(err) {
				t.Fatalf("err = %v, want retryable after the retryer gave up", err)
			}
		}},
	})
}

func assertGone(t *testing.T, e *env, p Plan) {
	t.Helper()
	if _, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); !isNoSuchEntity(err) {
		t.Errorf("role %s still there after Destroy (err %v)", p.Role.Name, err)
	}
	if _, err := e.admin.GetInstanceProfile(ctxT(t), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name)}); !isNoSuchEntity(err) {
		t.Errorf("profile %s still there after Destroy (err %v)", p.InstanceProfile.Name, err)
	}
}
