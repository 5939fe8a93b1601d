package provision

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func outcomeOf(rep Report, kind ResourceKind) Outcome {
	for _, r := range rep.Resources {
		if r.Kind == kind {
			return r.Outcome
		}
	}
	return ""
}

func TestSweepAndApplyChecked(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"sweep removes what the request's tags prove ours and leaves a foreign profile", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.admin.CreateInstanceProfile(ctxT(t), &iam.CreateInstanceProfileInput{
				InstanceProfileName: aws.String(p.InstanceProfile.Name), Path: aws.String(p.Role.Path)}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.reconciler().Apply(ctxT(t), p); !IsPermanent(err) {
				t.Fatalf("Apply next to a foreign profile: %v, want a permanent error", err)
			}
			if _, err := e.reconciler().Destroy(ctxT(t), p); !IsPermanent(err) {
				t.Fatalf("Destroy next to a foreign profile: %v, want a permanent error", err)
			}
			rep, err := e.reconciler().Sweep(ctxT(t), p)
			if err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			if outcomeOf(rep, KindInstanceProfile) != OutcomeForeign || outcomeOf(rep, KindRole) != OutcomeDeleted {
				t.Fatalf("Sweep report: %+v", rep.Resources)
			}
			if _, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); err == nil {
				t.Fatal("the role rolegate created is still there")
			}
			if _, err := e.admin.GetInstanceProfile(ctxT(t), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name)}); err != nil {
				t.Fatalf("the foreign profile is gone: %v", err)
			}
		}},
		{"revoke removes a live role from someone else's profile and refuses a role not the request's", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatal(err)
			}
			name := aws.String(p.InstanceProfile.Name)
			if _, err := e.admin.UntagInstanceProfile(ctxT(t), &iam.UntagInstanceProfileInput{InstanceProfileName: name,
				TagKeys: []string{TagManagedBy, TagRequestID}}); err != nil {
				t.Fatal(err)
			}
			other := p
			other.Meta.RequestID = "someone-else"
			if _, err := e.reconciler().Revoke(ctxT(t), other); !IsPermanent(err) {
				t.Fatalf("Revoke of a role not the request's: %v, want a permanent error", err)
			}
			rep, err := e.reconciler().Revoke(ctxT(t), p)
			if err != nil || outcomeOf(rep, KindInstanceProfile) != OutcomeForeign || outcomeOf(rep, KindRole) != OutcomeDeleted {
				t.Fatalf("Revoke: %+v, %v", rep.Resources, err)
			}
			if _, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); err == nil {
				t.Fatal("the revoked role is still there")
			}
			if _, err := e.admin.GetInstanceProfile(ctxT(t), &iam.GetInstanceProfileInput{InstanceProfileName: name}); err != nil {
				t.Fatalf("the foreign profile is gone: %v", err)
			}
		}},
		{"sweep leaves a foreign role alone", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.admin.CreateRole(ctxT(t), &iam.CreateRoleInput{RoleName: aws.String(p.Role.Name), Path: aws.String(p.Role.Path),
				AssumeRolePolicyDocument: aws.String(p.Role.TrustPolicy), Tags: []types.Tag{{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)},
					{Key: aws.String(TagRequestID), Value: aws.String("someone-else")}}}); err != nil {
				t.Fatal(err)
			}
			if e.srv != nil {
				e.srv.ResetCounters()
			}
			rep, err := e.reconciler().Sweep(ctxT(t), p)
			if err != nil || outcomeOf(rep, KindRole) != OutcomeForeign || rep.Changed() {
				t.Fatalf("Sweep: %+v, %v", rep.Resources, err)
			}
			if e.srv != nil && e.srv.WriteCalls() != 0 {
				t.Errorf("Sweep made %d write calls next to a foreign role", e.srv.WriteCalls())
			}
		}},
		{"a failing check stops Apply before its next write", func(t *testing.T, e *env) {
			p := planFor(t, e)
			stop := errors.New("revoked meanwhile")
			n := 0
			rep, err := e.reconciler().ApplyChecked(ctxT(t), p, func(context.Context) error {
				if n++; n > 2 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) {
				t.Fatalf("ApplyChecked: %v, want the check's error", err)
			}
			if len(rep.Calls) != 2 {
				t.Fatalf("%d write calls made, want the 2 allowed: %v", len(rep.Calls), rep.Calls)
			}
		}},
	})
}
