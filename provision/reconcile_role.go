package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// getRole returns the role, or nil when IAM says it does not exist.
func (x *run) getRole(ctx context.Context) (*types.Role, error) {
	out, err := x.r.client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(x.plan.Role.Name)})
	if isNoSuchEntity(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("GetRole", err)
	}
	return out.Role, nil
}

func (x *run) roleTags(ctx context.Context) (map[string]string, error) {
	tags := map[string]string{}
	pg := iam.NewListRoleTagsPaginator(x.r.client, &iam.ListRoleTagsInput{RoleName: aws.String(x.plan.Role.Name)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, classify("ListRoleTags", err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

func (x *run) owns(tags map[string]string) bool {
	return tags[TagManagedBy] == ManagedByValue && tags[TagRequestID] == x.plan.Meta.RequestID
}

// applyRole creates the role or repairs its attributes. It returns the
// role's ARN and whether the role was (or, in a dry run, would be) created.
func (x *run) applyRole(ctx context.Context) (string, bool, error) {
	want := x.plan.Role
	role, err := x.getRole(ctx)
	if err != nil {
		return "", false, err
	}
	if role == nil {
		arn := x.plan.RoleARN()
		in := &iam.CreateRoleInput{
			RoleName:                 aws.String(want.Name),
			Path:                     aws.String(want.Path),
			Description:              aws.String(want.Description),
			AssumeRolePolicyDocument: aws.String(want.TrustPolicy),
			MaxSessionDuration:       aws.Int32(want.MaxSessionDuration),
			Tags:                     iamTags(want.Tags),
		}
		if want.PermissionsBoundaryARN != "" {
			in.PermissionsBoundary = aws.String(want.PermissionsBoundaryARN)
		}
		err := x.write(ctx, Call{"CreateRole", want.Name, "path " + want.Path}, func(ctx context.Context) error {
			out, err := x.r.client.CreateRole(ctx, in)
			if err == nil {
				arn = aws.ToString(out.Role.Arn)
			}
			return err
		})
		if err != nil {
			return "", false, err
		}
		x.result(ResourceResult{Kind: KindRole, Name: want.Name, ARN: arn, Outcome: OutcomeCreated})
		if !x.dry {
			if err := x.waitRole(ctx); err != nil {
				return "", false, err
			}
		}
		return arn, true, nil
	}

	arn := aws.ToString(role.Arn)
	tags, err := x.roleTags(ctx)
	if err != nil {
		return "", false, err
	}
	if !x.owns(tags) {
		return "", false, foreignError("GetRole", "role", want.Name, x.plan.Meta.RequestID, tags)
	}
	if p := aws.ToString(role.Path); p != want.Path {
		return "", false, &PermanentError{Op: "GetRole", Code: "PathMismatch", Message: fmt.Sprintf(
			"role %q is under path %s but the plan wants %s; IAM cannot move a role, so destroy it and apply again", want.Name, p, want.Path)}
	}
	var changes []string
	name := aws.String(want.Name)

	trust, err := decodePolicyDocument(aws.ToString(role.AssumeRolePolicyDocument))
	if err != nil {
		return "", false, fmt.Errorf("decode trust policy of role %q: %w", want.Name, err)
	}
	if same, _ := policiesEqual(trust, want.TrustPolicy); !same {
		changes = append(changes, "trust policy")
		if err := x.write(ctx, Call{"UpdateAssumeRolePolicy", want.Name, ""}, func(ctx context.Context) error {
			_, err := x.r.client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: aws.String(want.TrustPolicy)})
			return err
		}); err != nil {
			return "", false, err
		}
	}

	var upd []string
	if aws.ToString(role.Description) != want.Description {
		upd = append(upd, "description")
	}
	if aws.ToInt32(role.MaxSessionDuration) != want.MaxSessionDuration {
		upd = append(upd, fmt.Sprintf("max session duration %d -> %d", aws.ToInt32(role.MaxSessionDuration), want.MaxSessionDuration))
	}
	if len(upd) > 0 {
		changes = append(changes, upd...)
		if err := x.write(ctx, Call{"UpdateRole", want.Name, strings.Join(upd, ", ")}, func(ctx context.Context) error {
			_, err := x.r.client.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: name,
				Description: aws.String(want.Description), MaxSessionDuration: aws.Int32(want.MaxSessionDuration)})
			return err
		}); err != nil {
			return "", false, err
		}
	}

	var have string
	if role.PermissionsBoundary != nil {
		have = aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn)
	}
	switch {
	case have == want.PermissionsBoundaryARN:
	case want.PermissionsBoundaryARN == "":
		changes = append(changes, "permissions boundary removed")
		err = x.write(ctx, Call{"DeleteRolePermissionsBoundary", want.Name, have}, func(ctx context.Context) error {
			_, err := x.r.client.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: name})
			return err
		})
	default:
		changes = append(changes, "permissions boundary set")
		err = x.write(ctx, Call{"PutRolePermissionsBoundary", want.Name, want.PermissionsBoundaryARN}, func(ctx context.Context) error {
			_, err := x.r.client.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: name, PermissionsBoundary: aws.String(want.PermissionsBoundaryARN)})
			return err
		})
	}
	if err != nil {
		return "", false, err
	}

	set, remove := diffTags(tags, want.Tags)
	if len(set) > 0 {
		changes = append(changes, "tags set: "+strings.Join(tagKeys(set), ", "))
		if err := x.write(ctx, Call{"TagRole", want.Name, strings.Join(tagKeys(set), ", ")}, func(ctx context.Context) error {
			_, err := x.r.client.TagRole(ctx, &iam.TagRoleInput{RoleName: name, Tags: iamTags(set)})
			return err
		}); err != nil {
			return "", false, err
		}
	}
	if len(remove) > 0 {
		changes = append(changes, "tags removed: "+strings.Join(remove, ", "))
		if err := x.write(ctx, Call{"UntagRole", want.Name, strings.Join(remove, ", ")}, func(ctx context.Context) error {
			_, err := x.r.client.UntagRole(ctx, &iam.UntagRoleInput{RoleName: name, TagKeys: remove})
			return err
		}); err != nil {
			return "", false, err
		}
	}
	x.result(ResourceResult{Kind: KindRole, Name: want.Name, ARN: arn, Outcome: outcome(true, changes), Changes: changes})
	return arn, false, nil
}

// diffTags returns the tags to set (missing or different) and the keys to
// remove (present but not planned).
func diffTags(have map[string]string, want []Tag) ([]Tag, []string) {
	var set []Tag
	wanted := map[string]bool{}
	for _, t := range want {
		wanted[t.Key] = true
		if v, ok := have[t.Key]; !ok || v != t.Value {
			set = append(set, t)
		}
	}
	var remove []string
	for k := range have {
		if !wanted[k] {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return set, remove
}

func tagKeys(tags []Tag) []string {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = t.Key
	}
	return keys
}

func iamTags(tags []Tag) []types.Tag {
	out := make([]types.Tag, len(tags))
	for i, t := range tags {
		out[i] = types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
}
