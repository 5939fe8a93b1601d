package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// applyInlinePolicy deletes any inline policy on the role other than the
// plan's, since the plan is the whole of the role's permissions, then puts
// the plan's when it is missing or differs (compared as JSON, not text).
func (x *run) applyInlinePolicy(ctx context.Context, roleARN string, roleCreated bool) error {
	want := x.plan.Policy
	role := x.plan.Role.Name
	names, err := unlessCreated(ctx, roleCreated, x.inlinePolicyNames)
	if err != nil {
		return err
	}
	existed, same := false, false
	for _, n := range names {
		if n != want.Name {
			continue
		}
		existed = true
		raw, found, err := x.inlinePolicyDocument(ctx, n)
		if err != nil {
			return err
		}
		if found {
			doc, derr := decodePolicyDocument(raw)
			if derr != nil {
				return fmt.Errorf("decode inline policy %q of role %q: %w", n, role, derr)
			}
			same, _ = policiesEqual(doc, want.Document)
		}
	}
	// Any other inline policy goes first: IAM caps a role's inline
	// policies at 10,240 characters together, and one put there by
	// someone else must not take the room the plan's needs.
	for _, n := range names {
		if n == want.Name {
			continue
		}
		if err := x.gone(ctx, Call{"DeleteRolePolicy", role + ":" + n, "not in the plan"}, func(ctx context.Context) error {
			_, err := x.r.client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(n)})
			return err
		}); err != nil {
			return err
		}
		x.result(ResourceResult{Kind: KindInlinePolicy, Name: role + ":" + n, ARN: roleARN, Outcome: OutcomeDeleted})
	}
	var changes []string
	if existed && !same {
		changes = append(changes, "policy document")
	}
	if !same {
		if err := x.write(ctx, Call{"PutRolePolicy", role + ":" + want.Name, ""}, x.onRole(roleCreated, func(ctx context.Context) error {
			_, err := x.r.client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
				RoleName: aws.String(role), PolicyName: aws.String(want.Name), PolicyDocument: aws.String(want.Document)})
			return err
		})); err != nil {
			return err
		}
	}
	x.result(ResourceResult{Kind: KindInlinePolicy, Name: role + ":" + want.Name, ARN: roleARN, Outcome: outcome(existed, changes), Changes: changes})
	return nil
}

// unlessCreated returns nothing for a role this run created, which holds
// nothing yet, and what list reads of any other.
func unlessCreated(ctx context.Context, roleCreated bool, list func(context.Context) ([]string, error)) ([]string, error) {
	if roleCreated {
		return nil, nil
	}
	return list(ctx)
}

// inlinePolicyNames lists the names of the role's inline policies.
func (x *run) inlinePolicyNames(ctx context.Context) ([]string, error) {
	if x.snap != nil {
		return x.snap.inlineNames(), nil
	}
	pg := iam.NewListRolePoliciesPaginator(x.r.client, &iam.ListRolePoliciesInput{RoleName: aws.String(x.plan.Role.Name)})
	return allPages(ctx, "ListRolePolicies", pg, func(page *iam.ListRolePoliciesOutput) []string { return page.PolicyNames })
}

// inlinePolicyDocument returns the inline policy's document as IAM sends
// it (percent-encoded), and false when the policy is gone.
func (x *run) inlinePolicyDocument(ctx context.Context, name string) (string, bool, error) {
	if x.snap != nil {
		doc, ok := x.snap.inlineDocument(name)
		return doc, ok, nil
	}
	out, err := x.r.client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(x.plan.Role.Name), PolicyName: aws.String(name)})
	if out, err = unlessMissing("GetRolePolicy", out, err); out == nil {
		return "", false, err
	}
	return aws.ToString(out.PolicyDocument), true, nil
}

// attachedPolicies lists the ARNs of the managed policies on the role.
func (x *run) attachedPolicies(ctx context.Context) ([]string, error) {
	if x.snap != nil {
		return x.snap.attached, nil
	}
	pg := iam.NewListAttachedRolePoliciesPaginator(x.r.client, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(x.plan.Role.Name)})
	return allPages(ctx, "ListAttachedRolePolicies", pg, func(page *iam.ListAttachedRolePoliciesOutput) (arns []string) {
		for _, p := range page.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
		return arns
	})
}

// applyAttachments detaches any managed policy the plan does not have and
// attaches the planned ones.
func (x *run) applyAttachments(ctx context.Context, roleCreated bool) error {
	role := x.plan.Role.Name
	have, err := unlessCreated(ctx, roleCreated, x.attachedPolicies)
	if err != nil {
		return err
	}
	// The others are detached first: IAM caps the managed policies of a
	// role (10 by default), and ones attached by someone else must not
	// take the places the plan's need.
	for _, arn := range have {
		if contains(x.plan.ManagedPolicies, arn) {
			continue
		}
		if err := x.gone(ctx, Call{"DetachRolePolicy", role, arn}, func(ctx context.Context) error {
			_, err := x.r.client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)})
			return err
		}); err != nil {
			return err
		}
		x.result(ResourceResult{Kind: KindAttachment, Name: role, ARN: arn, Outcome: OutcomeDeleted})
	}
	for _, arn := range x.plan.ManagedPolicies {
		if contains(have, arn) {
			x.result(ResourceResult{Kind: KindAttachment, Name: role, ARN: arn, Outcome: OutcomeUnchanged})
			continue
		}
		if err := x.write(ctx, Call{"AttachRolePolicy", role, arn}, x.onRole(roleCreated, func(ctx context.Context) error {
			_, err := x.r.client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)})
			return err
		})); err != nil {
			return err
		}
		x.result(ResourceResult{Kind: KindAttachment, Name: role, ARN: arn, Outcome: OutcomeCreated})
	}
	return nil
}

// onRole returns fn, a write on the plan's role, made again once IAM shows
// the role when this run created it and IAM does not know it yet (see
// untilVisible).
func (x *run) onRole(roleCreated bool, fn func(context.Context) error) func(context.Context) error {
	if !roleCreated {
		return fn
	}
	return untilVisible(fn, func(ctx context.Context) error {
		_, err := x.waitRole(ctx)
		return err
	})
}
