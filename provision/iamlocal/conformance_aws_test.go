package iamlocal_test

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// awsOnlyScenario holds the rules AWS enforces and moto does not; each
// step names the difference.
func awsOnlyScenario() scenario {
	createProfile := func(name string) func(context.Context, *iam.Client, string) (string, error) {
		return func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p + name)}))
		}
	}
	var attachEleven []step
	for i, name := range []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"} {
		attachEleven = append(attachEleven, step{name: "create policy " + name, do: cfCreatePolicy(name),
			want: "arn:aws:iam::123456789012:policy/P" + name + " id=ANPA+17", moto: "arn:aws:iam::123456789012:policy/P" + name + " id=other",
			diff: "managed policy IDs do not start with ANPA"})
		st := step{name: "attach " + name, do: cfAttach("limits", "ACCOUNT:"+name), want: "ok"}
		if i == 10 {
			st.want, st.moto, st.diff = "error LimitExceeded", "ok", "no limit of 10 managed policies per role"
		}
		attachEleven = append(attachEleven, st)
	}
	steps := []step{
		{name: "create a role", do: cfCreateRole("Case", trustEC2), want: "ok"},
		{name: "create it again in lower case", do: cfCreateRole("case", trustEC2),
			want: "error EntityAlreadyExists", moto: "ok", diff: "role names are case-sensitive"},
		{name: "get it in upper case", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(strings.ToUpper(p + "case"))})
			if err != nil {
				return "", err
			}
			return strings.TrimPrefix(aws.ToString(out.Role.RoleName), p), nil
		}, want: "Case", moto: "error NoSuchEntity", diff: "role names are case-sensitive"},
		{name: "create a profile", do: createProfile("Ip"), want: "ok"},
		{name: "create it again in lower case", do: createProfile("ip"),
			want: "error EntityAlreadyExists", moto: "ok", diff: "instance profile names are case-sensitive"},
		{name: "role name of 65 characters", do: cfCreateRole(strings.Repeat("n", 65-len("cf-aws-")), trustEC2),
			want: "error ValidationError", moto: "ok", diff: "no role name length check"},
		{name: "role name with a space", do: cfCreateRole("a b", trustEC2),
			want: "error ValidationError", moto: "ok", diff: "no role name character check"},
		{name: "trust policy that is not JSON", do: cfCreateRole("badjson", `{"Version":`),
			want: "error MalformedPolicyDocument", moto: "ok", diff: "no trust policy JSON validation"},
		{name: "trust policy with a Resource", do: cfCreateRole("withres", trustWithResource),
			want: "error MalformedPolicyDocument", moto: "ok", diff: "no trust policy grammar validation"},
		{name: "trust policy over 2,048", do: cfCreateRole("bigtrust", trustOfSize(2049)),
			want: "error LimitExceeded", moto: "ok", diff: "no 2,048 trust policy limit"},
		{name: "inline policy with a Principal and no Resource", do: cfPutPolicy("Case", "principal", trustEC2),
			want: "error MalformedPolicyDocument"},
		{name: "inline policy with a Principal and a Resource", do: cfPutPolicy("Case", "principal", trustWithResource),
			want: "error MalformedPolicyDocument", moto: "ok", diff: "a Principal in an identity policy is accepted"},
		{name: "first inline policy of 6,000", do: cfPutPolicy("Case", "one", policyOfSize(6000, false)), want: "ok"},
		{name: "second inline policy of 6,000", do: cfPutPolicy("Case", "two", policyOfSize(6000, false)),
			want: "error LimitExceeded", moto: "ok", diff: "no 10,240 aggregate inline policy limit"},
		{name: "attach an AWS-managed policy", do: cfAttach("Case", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
			want: "ok", moto: "error NoSuchEntity", diff: "AWS-managed policies are not loaded by default"},
		{name: "unknown permissions boundary", do: cfCreateRole("bnd", trustEC2, func(in *iam.CreateRoleInput) {
			in.PermissionsBoundary = aws.String("arn:aws:iam::123456789012:policy/cf-aws-ghost")
		}), want: "error NoSuchEntity", moto: "ok", diff: "permissions boundary ARNs are not checked"},
		{name: "tag key with the aws: prefix", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(p + "Case"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}}))
		}, want: "error InvalidInput", moto: "ok", diff: "the reserved aws: tag prefix is accepted"},
		{name: "create a role for the limits", do: cfCreateRole("limits", trustEC2), want: "ok"},
	}
	steps = append(steps, attachEleven...)
	steps = append(steps, step{name: "delete an attached policy", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
		return ok(c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policyArn("ACCOUNT:m1", p))}))
	}, want: "error DeleteConflict", moto: "ok", diff: "a policy still attached can be deleted"})
	return scenario{name: "aws", steps: steps}
}
