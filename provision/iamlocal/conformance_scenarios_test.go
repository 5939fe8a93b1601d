package iamlocal_test

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

const trustWithResource = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}`

// scenarios is the conformance suite. Names and paths use the prefix the
// runner passes (shown as P in expected answers).
func scenarios() []scenario {
	return []scenario{lifecycleScenario(), errorScenario(), awsOnlyScenario(), authDetailsScenario()}
}

func lifecycleScenario() scenario {
	return scenario{name: "lifecycle", steps: []step{
		{name: "create a boundary policy", do: cfCreatePolicy("boundary"),
			want: "arn:aws:iam::123456789012:policy/Pboundary id=ANPA+17", moto: "arn:aws:iam::123456789012:policy/Pboundary id=other",
			diff: "managed policy IDs do not start with ANPA"},
		{name: "create a role", do: cfCreateRole("app", trustEC2, func(in *iam.CreateRoleInput) {
			in.Path = aws.String("/conf/")
			in.Description = aws.String("reads a bucket")
			in.MaxSessionDuration = aws.Int32(7200)
			in.PermissionsBoundary = aws.String("arn:aws:iam::123456789012:policy/cf-lifecycle-boundary")
			in.Tags = []types.Tag{{Key: aws.String("owner"), Value: aws.String("alice")}}
		}), want: "ok"},
		{name: "get the role", do: cfGetRole("app"),
			want: `Papp /conf/ arn:aws:iam::123456789012:role/conf/Papp desc="reads a bucket" max=7200 boundary=arn:aws:iam::123456789012:policy/Pboundary tags=[owner=alice]`},
		{name: "role ID and trust policy", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("id=%s trust-round-trips=%v", shapeOfID(out.Role.RoleId), decoded(out.Role.AssumeRolePolicyDocument) == trustEC2), nil
		}, want: "id=AROA+17 trust-round-trips=true"},
		{name: "update the role", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(p + "app"), Description: aws.String("new"), MaxSessionDuration: aws.Int32(3600)}))
		}, want: "ok"},
		{name: "tag and retag the role", do: cfTagRole("app", "owner", "bob", "env", "dev"), want: "ok"},
		{name: "untag the role", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(p + "app"), TagKeys: []string{"env", "absent"}}))
		}, want: "ok"},
		{name: "drop the boundary", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(p + "app")}))
		}, want: "ok"},
		{name: "get the updated role", do: cfGetRole("app"),
			want: `Papp /conf/ arn:aws:iam::123456789012:role/conf/Papp desc="new" max=3600 boundary= tags=[owner=bob]`},
		{name: "new trust policy", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			doc := strings.Replace(trustEC2, "ec2.amazonaws.com", "lambda.amazonaws.com", 1)
			if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p + "app"), PolicyDocument: aws.String(doc)}); err != nil {
				return "", err
			}
			out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			return fmt.Sprint(decoded(out.Role.AssumeRolePolicyDocument) == doc), nil
		}, want: "true"},
		{name: "put inline policies", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			for _, n := range []string{"read", "audit"} {
				if _, err := cfPutPolicy("app", n, readBucket)(ctx, c, p); err != nil {
					return "", err
				}
			}
			out, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			// The order is not documented; moto keeps insertion order.
			return fmt.Sprint(slices.Sorted(slices.Values(out.PolicyNames))), nil
		}, want: "[audit read]"},
		{name: "get an inline policy", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(p + "app"), PolicyName: aws.String("read")})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s %s %v", strings.ReplaceAll(aws.ToString(out.RoleName), p, "P"), aws.ToString(out.PolicyName),
				decoded(out.PolicyDocument) == readBucket), nil
		}, want: "Papp read true"},
		{name: "attach a managed policy", do: cfAttach("app", "ACCOUNT:boundary"), want: "ok"},
		{name: "list attached policies and count", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			pol, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyArn("ACCOUNT:boundary", p))})
			if err != nil {
				return "", err
			}
			var names []string
			for _, a := range out.AttachedPolicies {
				names = append(names, strings.ReplaceAll(aws.ToString(a.PolicyName), p, "P"))
			}
			return fmt.Sprintf("%v attachments=%d", names, aws.ToInt32(pol.Policy.AttachmentCount)), nil
		}, want: "[Pboundary] attachments=1"},
		{name: "create a profile", do: cfCreateProfile("app"), want: "id=AIPA+17", moto: "id=other", diff: "instance profile IDs do not start with AIPA"},
		{name: "add the role to the profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(p + "app"), RoleName: aws.String(p + "app")}))
		}, want: "ok"},
		{name: "tag the profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(p + "app"),
				Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}))
		}, want: "ok"},
		{name: "get the profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			return profileString(out.InstanceProfile, p), nil
		}, want: "Papp / arn:aws:iam::123456789012:instance-profile/Papp roles=[Papp] tags=[team=data]"},
		{name: "profiles for the role", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			var names []string
			for _, ip := range out.InstanceProfiles {
				names = append(names, strings.ReplaceAll(aws.ToString(ip.InstanceProfileName), p, "P"))
			}
			return fmt.Sprint(names), nil
		}, want: "[Papp]"},
		{name: "profile tags", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String(p + "app")})
			if err != nil {
				return "", err
			}
			return tagString(out.Tags), nil
		}, want: "[team=data]", moto: "error (no IAM error, HTTP 500)", diff: "ListInstanceProfileTags answers 500 with an HTML page"},
		{name: "list roles under the path", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/conf/")})
			if err != nil {
				return "", err
			}
			var names []string
			for _, r := range out.Roles {
				if strings.HasPrefix(aws.ToString(r.RoleName), p) {
					names = append(names, strings.ReplaceAll(aws.ToString(r.RoleName), p, "P"))
				}
			}
			return fmt.Sprint(names), nil
		}, want: "[Papp]"},
		{name: "delete a role in a profile", do: cfDeleteRole("app"), want: "error DeleteConflict"},
		{name: "take the role out and delete the profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			if _, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(p + "app"), RoleName: aws.String(p + "app")}); err != nil {
				return "", err
			}
			return ok(c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(p + "app")}))
		}, want: "ok"},
		{name: "delete a role with an attached policy", do: cfDeleteRole("app"), want: "error DeleteConflict"},
		{name: "detach", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(p + "app"), PolicyArn: aws.String(policyArn("ACCOUNT:boundary", p))}))
		}, want: "ok"},
		{name: "delete a role with inline policies", do: cfDeleteRole("app"), want: "error DeleteConflict"},
		{name: "delete the inline policies and the role", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			for _, n := range []string{"read", "audit"} {
				if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(p + "app"), PolicyName: aws.String(n)}); err != nil {
					return "", err
				}
			}
			return cfDeleteRole("app")(ctx, c, p)
		}, want: "ok"},
		{name: "the role is gone", do: cfGetRole("app"), want: "error NoSuchEntity"},
		{name: "delete the policy", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policyArn("ACCOUNT:boundary", p))}))
		}, want: "ok"},
		{name: "the policy is gone", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyArn("ACCOUNT:boundary", p))}))
		}, want: "error NoSuchEntity"},
	}}
}
