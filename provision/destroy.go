package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Destroy removes what the plan created, in the order IAM requires: the
// role from the plan's instance profile, the profile, the inline policies,
// the managed policy attachments, the role from any other profile, then
// the role. What is already gone
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

// Revoke removes a live role: it is Destroy, except that an instance
// profile of the plan's name that is not rolegate's for the plan's request
// (someone replaced the role's own) is left alone and reported
// OutcomeForeign, the role leaving it first as IAM requires. Refusing
// would keep the role, and its permissions, in IAM for as long as that
// profile is there. A role of the plan's name that is not the request's
// is still refused: it may be the live role with its tags taken off, which
// a revocation must not report as done.
func (r *Reconciler) Revoke(ctx context.Context, p Plan) (Report, error) {
	x := &run{r: r, plan: p, leaveForeignProfile: true}
	err := x.destroy(ctx)
	return x.report, err
}

// destroy checks that the plan's profile and role are this request's (or,
// in a Sweep or a Revoke, notes which are not), then deletes the profile
// and the role with what hangs on it.
func (x *run) destroy(ctx context.Context) error {
	// Check ownership of both before touching either.
	prof, foreignProfile, err := x.profileToDestroy(ctx)
	if err != nil {
		return err
	}
	role, foreignRole, err := x.roleToDestroy(ctx)
	if err != nil {
		return err
	}
	if err := x.destroyProfile(ctx, prof, foreignProfile); err != nil {
		return err
	}
	return x.destroyRole(ctx, role, foreignRole)
}

// profileToDestroy returns the plan's instance profile (nil when there is
// none) and whether it is someone else's and left alone (Sweep). It returns
// a *PermanentError for someone else's profile in a Destroy, or the error
// of reading it.
func (x *run) profileToDestroy(ctx context.Context) (*types.InstanceProfile, bool, error) {
	prof, err := x.getProfile(ctx)
	if err != nil || prof == nil {
		return prof, false, err
	}
	foreign, err := x.leavesForeign(prof.Tags, x.leaveForeign || x.leaveForeignProfile, "GetInstanceProfile", "instance profile", x.plan.InstanceProfile.Name)
	return prof, foreign, err
}

// roleToDestroy returns the plan's role (nil when there is none) and
// whether it is someone else's and left alone (Sweep). It returns a
// *PermanentError for someone else's role in a Destroy, or the error of
// reading it.
func (x *run) roleToDestroy(ctx context.Context) (*types.Role, bool, error) {
	role, err := x.getRole(ctx)
	if err != nil || role == nil {
		return role, false, err
	}
	foreign, err := x.leavesForeign(role.Tags, x.leaveForeign, "GetRole", "role", x.plan.Role.Name)
	return role, foreign, err
}

// leavesForeign tells from an entity's tags whether it is someone else's
// and left alone (leave: Sweep, or a Revoke's profile). Someone else's
// entity otherwise is a *PermanentError naming the read op that found it.
func (x *run) leavesForeign(tags []types.Tag, leave bool, op, kind, name string) (bool, error) {
	t := tagMap(tags)
	if x.owns(t) {
		return false, nil
	}
	if !leave {
		return false, foreignError(op, kind, name, x.plan, t)
	}
	return true, nil
}

// destroyProfile takes the roles out of the plan's instance profile and
// deletes it, or reports it absent or foreign. It returns the error of the
// first call that failed.
func (x *run) destroyProfile(ctx context.Context, prof *types.InstanceProfile, foreign bool) error {
	profName := x.plan.InstanceProfile.Name
	switch {
	case foreign:
		x.result(ResourceResult{Kind: KindInstanceProfile, Name: profName, ARN: aws.ToString(prof.Arn), Outcome: OutcomeForeign})
		return nil
	case prof == nil:
		x.result(ResourceResult{Kind: KindInstanceProfile, Name: profName, ARN: x.plan.InstanceProfileARN(), Outcome: OutcomeAbsent})
		return nil
	}
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
		return changedMeanwhile(err)
	}); err != nil {
		return err
	}
	x.result(ResourceResult{Kind: KindInstanceProfile, Name: profName, ARN: aws.ToString(prof.Arn), Outcome: OutcomeDeleted})
	return nil
}

// destroyRole deletes the plan's role's inline policies, detaches its
// managed policies, takes it out of every instance profile and deletes it, or
// reports it absent or foreign. It returns the error of the first call
// that failed.
func (x *run) destroyRole(ctx context.Context, role *types.Role, foreign bool) error {
	switch {
	case foreign:
		x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: aws.ToString(role.Arn), Outcome: OutcomeForeign})
		return nil
	case role == nil:
		x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: x.plan.RoleARN(), Outcome: OutcomeAbsent})
		return nil
	}
	// Its permissions go first: leaving a profile that is not rolegate's
	// (a Revoke's foreign one) may be denied to rolegate's principal, and
	// a role that then cannot be deleted must grant nothing.
	if err := x.deleteInlinePolicies(ctx, aws.ToString(role.Arn)); err != nil {
		return err
	}
	if err := x.detachAllPolicies(ctx); err != nil {
		return err
	}
	if err := x.leaveAllProfiles(ctx); err != nil {
		return err
	}
	if err := x.gone(ctx, Call{"DeleteRole", x.plan.Role.Name, ""}, func(ctx context.Context) error {
		_, err := x.r.client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(x.plan.Role.Name)})
		return changedMeanwhile(err)
	}); err != nil {
		return err
	}
	x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: aws.ToString(role.Arn), Outcome: OutcomeDeleted})
	return nil
}

// leaveAllProfiles takes the role out of every instance profile it sits
// in: the role may sit in profiles other than the plan's, and IAM refuses
// to delete it until it leaves them all. It returns the error of listing
// them or of the first removal that failed.
func (x *run) leaveAllProfiles(ctx context.Context) error {
	return eachOfRole(ctx, x.profilesOfRole, func(ctx context.Context, p string) error {
		return x.gone(ctx, Call{"RemoveRoleFromInstanceProfile", p, x.plan.Role.Name}, func(ctx context.Context) error {
			_, err := x.r.client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(p), RoleName: aws.String(x.plan.Role.Name)})
			return err
		})
	})
}

// profilesOfRole lists the names of the instance profiles the role sits in.
func (x *run) profilesOfRole(ctx context.Context) ([]string, error) {
	pg := iam.NewListInstanceProfilesForRolePaginator(x.r.client, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(x.plan.Role.Name)})
	return allPages(ctx, "ListInstanceProfilesForRole", pg, func(page *iam.ListInstanceProfilesForRoleOutput) (names []string) {
		for _, ip := range page.InstanceProfiles {
			names = append(names, aws.ToString(ip.InstanceProfileName))
		}
		return names
	})
}

// eachOfRole calls remove with each name list reads of the role, and with
// none once IAM says the role does not exist (nothing is left to remove).
// It returns the error of listing or of the first removal that failed.
func eachOfRole(ctx context.Context, list func(context.Context) ([]string, error), remove func(context.Context, string) error) error {
	names, err := list(ctx)
	if isNoSuchEntity(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := remove(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// deleteInlinePolicies deletes every inline policy of the role (roleARN
// is for the report). It returns the error of listing them or of the first
// deletion that failed.
func (x *run) deleteInlinePolicies(ctx context.Context, roleARN string) error {
	return eachOfRole(ctx, x.inlinePolicyNames, func(ctx context.Context, n string) error {
		err := x.gone(ctx, Call{"DeleteRolePolicy", x.plan.Role.Name + ":" + n, ""}, func(ctx context.Context) error {
			_, err := x.r.client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(x.plan.Role.Name), PolicyName: aws.String(n)})
			return err
		})
		if err == nil {
			x.result(ResourceResult{Kind: KindInlinePolicy, Name: x.plan.Role.Name + ":" + n, ARN: roleARN, Outcome: OutcomeDeleted})
		}
		return err
	})
}

// detachAllPolicies detaches every managed policy from the role. It
// returns the error of listing them or of the first detachment that failed.
func (x *run) detachAllPolicies(ctx context.Context) error {
	return eachOfRole(ctx, x.attachedPolicies, func(ctx context.Context, arn string) error {
		err := x.gone(ctx, Call{"DetachRolePolicy", x.plan.Role.Name, arn}, func(ctx context.Context) error {
			_, err := x.r.client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(x.plan.Role.Name), PolicyArn: aws.String(arn)})
			return err
		})
		if err == nil {
			x.result(ResourceResult{Kind: KindAttachment, Name: x.plan.Role.Name, ARN: arn, Outcome: OutcomeDeleted})
		}
		return err
	})
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

// errChangedMeanwhile is wrapped by the error of a delete IAM refused
// because the entity gained something since it was read (a role put in an
// instance profile, a policy attached): it is retryable, since the next
// pass reads it again and removes that too.
var errChangedMeanwhile = errors.New("it was given more while it was being removed")

// changedMeanwhile marks IAM's DeleteConflict for a role or an instance
// profile this destroy has emptied as errChangedMeanwhile; any other error
// comes back as it is.
func changedMeanwhile(err error) error {
	if errorCode(err) == "DeleteConflict" {
		return fmt.Errorf("%w: %w", errChangedMeanwhile, err)
	}
	return err
}
