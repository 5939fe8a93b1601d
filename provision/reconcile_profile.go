package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// getProfile returns the instance profile, or nil when IAM says it does
// not exist. A bulk read answers for a profile that holds the role.
func (x *run) getProfile(ctx context.Context) (*types.InstanceProfile, error) {
	if x.snap != nil {
		if p := x.snap.profile(x.plan.InstanceProfile.Name); p != nil {
			return p, nil
		}
	}
	out, err := x.r.client.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(x.plan.InstanceProfile.Name)})
	if out, err = unlessMissing("GetInstanceProfile", out, err); out == nil {
		return nil, err
	}
	return out.InstanceProfile, nil
}

// applyProfile creates the instance profile or repairs its tags, and makes
// it hold exactly the plan's role; then it waits until IAM shows that,
// which is the one wait for the readiness of a new role and profile. A
// fresh run creates without reading; a profile that exists after all is
// read and checked like any other. roleCreated says this run created the
// role.
func (x *run) applyProfile(ctx context.Context, roleCreated bool) error {
	var prof *types.InstanceProfile
	if !x.fresh {
		var err error
		if prof, err = x.getProfile(ctx); err != nil {
			return err
		}
	}
	created := false
	var changes, roles []string
	var arn string
	if prof == nil {
		var err error
		arn, err = x.createProfile(ctx)
		switch {
		case err == nil:
			created = true
		case !isAlreadyExists(err):
			return err
		default:
			if prof, err = x.existingProfile(ctx); err != nil {
				return err
			}
		}
	}
	if !created {
		var err error
		arn = aws.ToString(prof.Arn)
		if changes, err = x.repairProfile(ctx, prof); err != nil {
			return err
		}
		for _, r := range prof.Roles {
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}
	placed, err := x.placeRole(ctx, roles, created, roleCreated)
	if err != nil {
		return err
	}
	changes = append(changes, placed...)
	want := x.plan.InstanceProfile
	x.result(ResourceResult{Kind: KindInstanceProfile, Name: want.Name, ARN: arn, Outcome: outcome(!created, changes), Changes: changes})
	return nil
}

// existingProfile reads the instance profile CreateInstanceProfile said
// exists, waiting for it when IAM does not show it yet (it may be moments
// old). It returns the error of the read or of the wait.
func (x *run) existingProfile(ctx context.Context) (*types.InstanceProfile, error) {
	prof, err := x.getProfile(ctx)
	if err != nil || prof != nil {
		return prof, err
	}
	return x.waitProfile(ctx, "")
}

// createProfile creates the planned instance profile, empty. It returns
// the profile's ARN (the planned one in a dry run), or the error of the
// call. Like createRole it does not wait for IAM to show the profile.
func (x *run) createProfile(ctx context.Context) (string, error) {
	want := x.plan.InstanceProfile
	arn := x.plan.InstanceProfileARN()
	err := x.write(ctx, Call{"CreateInstanceProfile", want.Name, "path " + want.Path}, func(ctx context.Context) error {
		out, err := x.r.client.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
			InstanceProfileName: aws.String(want.Name), Path: aws.String(want.Path), Tags: iamTags(want.Tags)})
		if err == nil {
			arn = aws.ToString(out.InstanceProfile.Arn)
		}
		return err
	})
	return arn, err
}

// repairProfile sets the planned tags an existing instance profile lacks
// and removes the others. It returns the changes made; a *PermanentError
// when the profile is not rolegate's for this request or sits under another
// path, which IAM cannot change; or the error of the first call that failed.
func (x *run) repairProfile(ctx context.Context, prof *types.InstanceProfile) ([]string, error) {
	want := x.plan.InstanceProfile
	name := aws.String(want.Name)
	tags := tagMap(prof.Tags)
	if !x.owns(tags) {
		return nil, foreignError("GetInstanceProfile", "instance profile", want.Name, x.plan, tags)
	}
	if p := aws.ToString(prof.Path); p != want.Path {
		return nil, &PermanentError{Op: "GetInstanceProfile", Code: CodePathMismatch, Message: fmt.Sprintf(
			"instance profile %q is under path %s but the plan wants %s; IAM cannot move it, so destroy it and apply again", want.Name, p, want.Path)}
	}
	return x.repairTags(ctx, tagging{
		resource: want.Name, tagAction: "TagInstanceProfile", untagAction: "UntagInstanceProfile",
		tag: func(ctx context.Context, set []types.Tag) error {
			_, err := x.r.client.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: name, Tags: set})
			return err
		},
		untag: func(ctx context.Context, keys []string) error {
			_, err := x.r.client.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: name, TagKeys: keys})
			return err
		},
	}, tags, want.Tags)
}

// placeRole makes the instance profile, which holds roles now, hold only
// the plan's role, and unless this is a dry run waits until IAM shows it
// there. It returns the changes made (none are reported for a profile
// created by this run), or the error of the first call or of the wait.
// profileCreated and roleCreated say which of the two this run created:
// IAM may not know them yet when the role is added (see untilVisible).
func (x *run) placeRole(ctx context.Context, roles []string, profileCreated, roleCreated bool) ([]string, error) {
	want := x.plan.InstanceProfile
	name := aws.String(want.Name)
	var changes []string
	holds := false
	for _, r := range roles {
		if r == want.RoleName {
			holds = true
			continue
		}
		// A profile holds one role at most: another role must leave first.
		changes = append(changes, "removed role "+r)
		if err := x.write(ctx, Call{"RemoveRoleFromInstanceProfile", want.Name, r}, func(ctx context.Context) error {
			_, err := x.r.client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: name, RoleName: aws.String(r)})
			if isNoSuchEntity(err) {
				return nil
			}
			return err
		}); err != nil {
			return changes, err
		}
	}
	if holds {
		return changes, nil
	}
	if !profileCreated {
		changes = append(changes, "added role "+want.RoleName)
	}
	add := x.unlessHeld(func(ctx context.Context) error {
		_, err := x.r.client.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: name, RoleName: aws.String(want.RoleName)})
		return err
	})
	if profileCreated || roleCreated {
		add = untilVisible(add, func(ctx context.Context) error {
			if profileCreated {
				if _, err := x.waitProfile(ctx, ""); err != nil {
					return err
				}
			}
			if roleCreated {
				_, err := x.waitRole(ctx)
				return err
			}
			return nil
		})
	}
	if err := x.write(ctx, Call{"AddRoleToInstanceProfile", want.Name, want.RoleName}, add); err != nil {
		return changes, err
	}
	if !x.dry {
		if _, err := x.waitProfile(ctx, want.RoleName); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// errProfileTaken is wrapped by the error of placing the role in an
// instance profile that IAM says holds a role already, another one: it
// is retryable, since the next pass reads the profile again and takes
// that role out first.
var errProfileTaken = errors.New("the instance profile holds another role")

// unlessHeld returns add, the call that puts the plan's role in its
// instance profile, counting IAM's LimitExceeded (a profile holds one
// role at most) as done once IAM shows the profile holding the plan's
// role. IAM says so to a repeat of an add it made: one the client's
// retryer sent again because the first answer was lost, or one made by a
// run that stopped before IAM showed its add to the read of this one. It
// returns add's error for any other failure, a retryable error wrapping
// errProfileTaken when IAM shows another role in the profile, and the
// wait's error (retryable too) when IAM shows none in time.
func (x *run) unlessHeld(add func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		err := add(ctx)
		if errorCode(err) != "LimitExceeded" {
			return err
		}
		want := x.plan.InstanceProfile
		prof, werr := x.waitProfileUntil(ctx, func(p *types.InstanceProfile) bool { return len(p.Roles) > 0 })
		switch {
		case werr != nil:
			return werr
		case holdsRole(prof, want.RoleName):
			return nil
		default:
			return fmt.Errorf("add role %q to instance profile %q: %w (%s) meanwhile: %w",
				want.RoleName, want.Name, errProfileTaken, aws.ToString(prof.Roles[0].RoleName), err)
		}
	}
}
