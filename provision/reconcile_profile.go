package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func (x *run) getProfile(ctx context.Context) (*types.InstanceProfile, error) {
	out, err := x.r.client.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(x.plan.InstanceProfile.Name)})
	if isNoSuchEntity(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("GetInstanceProfile", err)
	}
	return out.InstanceProfile, nil
}

// profileTags returns the tags GetInstanceProfile reported. IAM returns
// all of them there (at most 50), which spares a ListInstanceProfileTags
// call that some IAM emulators lack.
func profileTags(prof *types.InstanceProfile) map[string]string {
	tags := map[string]string{}
	for _, t := range prof.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}

// applyProfile creates the instance profile or repairs its tags, and makes
// it hold exactly the plan's role; then it waits until IAM shows that.
func (x *run) applyProfile(ctx context.Context) error {
	want := x.plan.InstanceProfile
	name := aws.String(want.Name)
	prof, err := x.getProfile(ctx)
	if err != nil {
		return err
	}
	existed := prof != nil
	var changes []string
	var roles []string
	arn := x.plan.InstanceProfileARN()
	if !existed {
		err := x.write(ctx, Call{"CreateInstanceProfile", want.Name, "path " + want.Path}, func(ctx context.Context) error {
			out, err := x.r.client.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
				InstanceProfileName: name, Path: aws.String(want.Path), Tags: iamTags(want.Tags)})
			if err == nil {
				arn = aws.ToString(out.InstanceProfile.Arn)
			}
			return err
		})
		if err != nil {
			return err
		}
		if !x.dry {
			if err := x.waitProfile(ctx, ""); err != nil {
				return err
			}
		}
	} else {
		arn = aws.ToString(prof.Arn)
		tags := profileTags(prof)
		if !x.owns(tags) {
			return foreignError("GetInstanceProfile", "instance profile", want.Name, x.plan.Meta.RequestID, tags)
		}
		if p := aws.ToString(prof.Path); p != want.Path {
			return &PermanentError{Op: "GetInstanceProfile", Code: "PathMismatch", Message: fmt.Sprintf(
				"instance profile %q is under path %s but the plan wants %s; IAM cannot move it, so destroy it and apply again", want.Name, p, want.Path)}
		}
		set, remove := diffTags(tags, want.Tags)
		if len(set) > 0 {
			changes = append(changes, "tags set: "+strings.Join(tagKeys(set), ", "))
			if err := x.write(ctx, Call{"TagInstanceProfile", want.Name, strings.Join(tagKeys(set), ", ")}, func(ctx context.Context) error {
				_, err := x.r.client.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: name, Tags: iamTags(set)})
				return err
			}); err != nil {
				return err
			}
		}
		if len(remove) > 0 {
			changes = append(changes, "tags removed: "+strings.Join(remove, ", "))
			if err := x.write(ctx, Call{"UntagInstanceProfile", want.Name, strings.Join(remove, ", ")}, func(ctx context.Context) error {
				_, err := x.r.client.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: name, TagKeys: remove})
				return err
			}); err != nil {
				return err
			}
		}
		for _, r := range prof.Roles {
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}

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
			return err
		}
	}
	if !holds {
		if existed {
			changes = append(changes, "added role "+want.RoleName)
		}
		if err := x.write(ctx, Call{"AddRoleToInstanceProfile", want.Name, want.RoleName}, func(ctx context.Context) error {
			_, err := x.r.client.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: name, RoleName: aws.String(want.RoleName)})
			return err
		}); err != nil {
			return err
		}
		if !x.dry {
			if err := x.waitProfile(ctx, want.RoleName); err != nil {
				return err
			}
		}
	}
	x.result(ResourceResult{Kind: KindInstanceProfile, Name: want.Name, ARN: arn, Outcome: outcome(existed, changes), Changes: changes})
	return nil
}
