package iamlocal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// errorScenario holds the error cases where moto answers as AWS does.
func errorScenario() scenario {
	addToProfile := func(profile, role string) func(context.Context, *iam.Client, string) (string, error) {
		return func(ctx context.Context, c *iam.Client, p string) (string, error) {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(p + profile), RoleName: aws.String(p + role)})
			if err != nil {
				return "", err
			}
			return "ok", nil
		}
	}
	return scenario{name: "errors", steps: []step{
		{name: "get a missing role", do: cfGetRole("ghost"), want: "error NoSuchEntity"},
		{name: "create a role", do: cfCreateRole("one", trustEC2), want: "ok"},
		{name: "create it again", do: cfCreateRole("one", trustEC2), want: "error EntityAlreadyExists"},
		{name: "create another role", do: cfCreateRole("two", trustEC2), want: "ok"},
		{name: "get a missing inline policy", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(p + "one"), PolicyName: aws.String("nope")}))
		}, want: "error NoSuchEntity"},
		{name: "delete a missing profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(p + "ghost")}))
		}, want: "error NoSuchEntity"},
		{name: "create a profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p + "ip")}))
		}, want: "ok"},
		{name: "create the profile again", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p + "ip")}))
		}, want: "error EntityAlreadyExists"},
		{name: "add a role to the profile", do: addToProfile("ip", "one"), want: "ok"},
		{name: "add a second role to the profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			_, err := addToProfile("ip", "two")(ctx, c, p)
			return "error " + conformanceCode(err) + ": " + errorMessage(err), nil
		}, want: "error LimitExceeded: Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"},
		{name: "delete a profile holding a role", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(p + "ip")}))
		}, want: "error DeleteConflict"},
		{name: "tag keys equal but for case", do: cfTagRole("one", "Team", "a", "team", "b"), want: "error InvalidInput"},
		{name: "51 tags", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			var kv []string
			for i := range 51 {
				kv = append(kv, fmt.Sprintf("k%02d", i), "v")
			}
			return cfTagRole("one", kv...)(ctx, c, p)
		}, want: "error ValidationError"},
		{name: "tag key with a star", do: cfTagRole("one", "a*b", "v"), want: "error ValidationError"},
		{name: "tag value of 257", do: cfTagRole("one", "k", strings.Repeat("v", 257)), want: "error ValidationError"},
		{name: "detach a policy not attached", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(p + "one"), PolicyArn: aws.String(policyArn("ACCOUNT:ghost", p))}))
		}, want: "error NoSuchEntity"},
		{name: "attach a missing customer policy", do: cfAttach("one", "ACCOUNT:ghost"), want: "error NoSuchEntity"},
		{name: "inline policy that is not JSON", do: cfPutPolicy("one", "bad", "not json"), want: "error MalformedPolicyDocument"},
		{name: "pages of roles", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			for _, n := range []string{"pg-a", "pg-b", "pg-c", "pg-d", "pg-e"} {
				if _, err := cfCreateRole(n, trustEC2, func(in *iam.CreateRoleInput) { in.Path = aws.String("/" + p + "pages/") })(ctx, c, p); err != nil {
					return "", err
				}
			}
			// The order of roles is not documented (moto's is not by name),
			// so the pages are compared by size and the names as a set.
			var pages []string
			var all []string
			pager := iam.NewListRolesPaginator(c, &iam.ListRolesInput{PathPrefix: aws.String("/" + p + "pages/"), MaxItems: aws.Int32(2)})
			for pager.HasMorePages() {
				out, err := pager.NextPage(ctx)
				if err != nil {
					return "", err
				}
				for _, r := range out.Roles {
					all = append(all, strings.TrimPrefix(aws.ToString(r.RoleName), p))
				}
				pages = append(pages, fmt.Sprintf("%d truncated=%v", len(out.Roles), out.IsTruncated))
			}
			slices.Sort(all)
			return fmt.Sprintf("%s; %v", strings.Join(pages, "; "), all), nil
		}, want: "2 truncated=true; 2 truncated=true; 1 truncated=false; [pg-a pg-b pg-c pg-d pg-e]"},
	}}
}

// errorMessage is the IAM error message of err, "" when there is none.
func errorMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}
