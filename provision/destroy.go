package provision

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Destroy removes what the plan created, in the order IAM requires: the
// role from its instance profiles, the profile, the inline policies, the
// managed policy attachments, then the role. What is already gone
// (NoSuchEntity) counts as done, so Destroy resumes from any partial
// state. It returns a *PermanentError, before deleting anything, when the
// role or profile exists but is not rolegate's for this request.
func (r *Reconciler) Destroy(ctx context.Context, p Plan) (Report, error) {
	x := &run{r: r, plan: p}
	err := x.destroy(ctx)
	return x.report, err
}

// Sweep removes what rolegate created for the plan's request and nothing
// else: a role or instance profile of the plan's names that does not carry
// rolegate's tags for this request is left alone and reported as
// OutcomeForeign. It is for requests that never went live, whose first
// provisioning may have stopped on a foreign entity of the same name after
// creating the rest. Otherwise it is Destroy.
func (r *Reconciler) Sweep(ctx context.Context, p Plan) (Report, error) {
	x := &run{r: r, plan: p, leaveForeign: true}
	err := x.destroy(ctx)
	return x.report, err
}

func (x *run) destroy(ctx context.Context) error {
	// Check ownership of both before touching either.
	prof, err := x.getProfile(ctx)
	if err != nil {
		return err
	}
	foreignProfile := false
	if prof != nil {
		if tags := profileTags(prof); !x.owns(tags) {
			if !x.leaveForeign {
				return foreignError("GetInstanceProfile", "instance profile", x.plan.InstanceProfile.Name, x.plan.Meta.RequestID, tags)
			}
			foreignProfile = true
		}
	}
	role, err := x.getRole(ctx)
	if err != nil {
		return err
	}
	foreignRole := false
	if role != nil {
		tags, err := x.roleTags(ctx)
		if err != nil && !isNoSuchEntity(err) {
			return err
		}
		if err == nil && !x.owns(tags) {
			if !x.leaveForeign {
				return foreignError("GetRole", "role", x.plan.Role.Name, x.plan.Meta.RequestID, tags)
			}
			foreignRole = true
		}
	}

	profName := x.plan.InstanceProfile.Name
	switch {
	case foreignProfile:
		x.result(ResourceResult{Kind: KindInstanceProfile, Name: profName, ARN: aws.ToString(prof.Arn), Outcome: OutcomeForeign})
	case prof == nil:
		x.result(ResourceResult{Kind: KindInstanceProfile, Name: profName, ARN: x.plan.InstanceProfileARN(), Outcome: OutcomeAbsent})
	default:
		for _, rl := range prof.Roles {
			if err := x.gone(ctx, Call{"RemoveRoleFromInstanceProfile", profName, aws.ToString(rl.RoleName)}, func(ctx context.Context) error {
				_, err := x.r.client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(profName), RoleName: rl.RoleName})
				return err
			}); err != nil {
				return err
			}
		}
		if err := x.gone(ctx, Call{"DeleteInstanceProfile", profName, ""}, func(ctx context.Context) error {
			_, err := x.r.client.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(profName)})
			return err
		}); err != nil {
			return err
		}
		x.result(ResourceResult{Kind: KindInstanceProfile, Name: profName, ARN: aws.ToString(prof.Arn), Outcome: OutcomeDeleted})
	}

	roleName := aws.String(x.plan.Role.Name)
	if foreignRole {
		x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: aws.ToString(role.Arn), Outcome: OutcomeForeign})
		return nil
	}
	if role == nil {
		x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: x.plan.RoleARN(), Outcome: OutcomeAbsent})
		return nil
	}
	// The role may sit in profiles other than the plan's; IAM refuses to
	// delete it until it leaves them all.
	profiles := iam.NewListInstanceProfilesForRolePaginator(x.r.client, &iam.ListInstanceProfilesForRoleInput{RoleName: roleName})
	for profiles.HasMorePages() {
		page, err := profiles.NextPage(ctx)
		if isNoSuchEntity(err) {
			break
		}
		if err != nil {
			return classify("ListInstanceProfilesForRole", err)
		}
		for _, ip := range page.InstanceProfiles {
			if err := x.gone(ctx, Call{"RemoveRoleFromInstanceProfile", aws.ToString(ip.InstanceProfileName), x.plan.Role.Name}, func(ctx context.Context) error {
				_, err := x.r.client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: ip.InstanceProfileName, RoleName: roleName})
				return err
			}); err != nil {
				return err
			}
		}
	}
	policies := iam.NewListRolePoliciesPaginator(x.r.client, &iam.ListRolePoliciesInput{RoleName: roleName})
	for policies.HasMorePages() {
		page, err := policies.NextPage(ctx)
		if isNoSuchEntity(err) {
			break
		}
		if err != nil {
			return classify("ListRolePolicies", err)
		}
		for _, n := range page.PolicyNames {
			if err := x.gone(ctx, Call{"DeleteRolePolicy", x.plan.Role.Name + ":" + n, ""}, func(ctx context.Context) error {
				_, err := x.r.client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: roleName, PolicyName: aws.String(n)})
				return err
			}); err != nil {
				return err
			}
			x.result(ResourceResult{Kind: KindInlinePolicy, Name: x.plan.Role.Name + ":" + n, ARN: aws.ToString(role.Arn), Outcome: OutcomeDeleted})
		}
	}
	attached, err := x.attachedPolicies(ctx)
	if err != nil && !isNoSuchEntity(err) {
		return err
	}
	for _, arn := range attached {
		if err := x.gone(ctx, Call{"DetachRolePolicy", x.plan.Role.Name, arn}, func(ctx context.Context) error {
			_, err := x.r.client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: roleName, PolicyArn: aws.String(arn)})
			return err
		}); err != nil {
			return err
		}
		x.result(ResourceResult{Kind: KindAttachment, Name: x.plan.Role.Name, ARN: arn, Outcome: OutcomeDeleted})
	}
	if err := x.gone(ctx, Call{"DeleteRole", x.plan.Role.Name, ""}, func(ctx context.Context) error {
		_, err := x.r.client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: roleName})
		return err
	}); err != nil {
		return err
	}
	x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: aws.ToString(role.Arn), Outcome: OutcomeDeleted})
	return nil
}

// gone makes a delete-like call for which NoSuchEntity means done.
func (x *run) gone(ctx context.Context, c Call, fn func(context.Context) error) error {
	return x.write(ctx, c, func(ctx context.Context) error {
		if err := fn(ctx); err != nil && !isNoSuchEntity(err) {
			return err
		}
		return nil
	})
}
