package iamlocal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// errorWorld creates the entities the error cases act on: role "base";
// role "member" in profile "full"; role "attached" with ReadOnlyAccess;
// role "inline" with inline policy "p"; empty profile "empty".
func errorWorld(t *testing.T, c *iam.Client) {
	t.Helper()
	ctx := context.Background()
	for _, r := range []string{"base", "member", "attached", "inline"} {
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r), AssumeRolePolicyDocument: aws.String(trustEC2)})
		must(t, "CreateRole "+r, err)
	}
	for _, p := range []string{"full", "empty"} {
		_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p)})
		must(t, "CreateInstanceProfile "+p, err)
	}
	_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("full"), RoleName: aws.String("member")})
	must(t, "AddRoleToInstanceProfile", err)
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("attached"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	must(t, "AttachRolePolicy", err)
	_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("inline"), PolicyName: aws.String("p"), PolicyDocument: aws.String(readBucket)})
	must(t, "PutRolePolicy", err)
}

// policyOfSize returns an identity policy whose non-whitespace size is n,
// padded with spaces that IAM does not count when pad is set.
func policyOfSize(n int, pad bool) string {
	head := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`
	tail := `"}]}`
	doc := head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	if pad {
		doc = strings.Replace(doc, `"Effect"`, strings.Repeat(" ", 5000)+`"Effect"`, 1)
	}
	return doc
}

func trustOfSize(n int) string {
	head := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Sid":"`
	tail := `"}]}`
	return head + strings.Repeat("s", n-len(head)-len(tail)) + tail
}

func manyTags(n int, prefix string) []types.Tag {
	tags := make([]types.Tag, n)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String(fmt.Sprintf("%s%02d", prefix, i)), Value: aws.String("v")}
	}
	return tags
}

func createRole(name, trust string, mod ...func(*iam.CreateRoleInput)) func(context.Context, *iam.Client) error {
	return func(ctx context.Context, c *iam.Client) error {
		in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}
		for _, m := range mod {
			m(in)
		}
		_, err := c.CreateRole(ctx, in)
		return err
	}
}

func putPolicy(role, name, doc string) func(context.Context, *iam.Client) error {
	return func(ctx context.Context, c *iam.Client) error {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		return err
	}
}

func attach(role, arn string) func(context.Context, *iam.Client) error {
	return func(ctx context.Context, c *iam.Client) error {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)})
		return err
	}
}

func tagRole(role string, tags []types.Tag) func(context.Context, *iam.Client) error {
	return func(ctx context.Context, c *iam.Client) error {
		_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(role), Tags: tags})
		return err
	}
}

func TestErrorRules(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("n", n) }
	tag := func(k, v string) []types.Tag { return []types.Tag{{Key: aws.String(k), Value: aws.String(v)}} }
	tests := []struct {
		name    string
		prep    []func(context.Context, *iam.Client) error
		call    func(context.Context, *iam.Client) error
		code    string
		status  int
		message string // a substring of the message, when it matters
	}{
		{name: "role name of 65 characters", call: createRole(long(65), trustEC2), code: "ValidationError", status: 400,
			message: "Member must have length less than or equal to 64"},
		{name: "role name with a space", call: createRole("a b", trustEC2), code: "ValidationError", status: 400},
		{name: "role name taken in another case", call: createRole("BASE", trustEC2), code: "EntityAlreadyExists", status: 409,
			message: "Role with name BASE already exists."},
		{name: "path without slashes", call: createRole("p", trustEC2, func(in *iam.CreateRoleInput) { in.Path = aws.String("team") }),
			code: "ValidationError", status: 400},
		{name: "description of 1001 characters", call: createRole("d", trustEC2, func(in *iam.CreateRoleInput) { in.Description = aws.String(long(1001)) }),
			code: "ValidationError", status: 400},
		{name: "session duration under an hour", call: createRole("m", trustEC2, func(in *iam.CreateRoleInput) { in.MaxSessionDuration = aws.Int32(900) }),
			code: "ValidationError", status: 400},
		{name: "trust policy over 2048", call: createRole("big", trustOfSize(2049)), code: "LimitExceeded", status: 409,
			message: "Cannot exceed quota for ACLSizePerRole: 2048"},
		{name: "trust policy of exactly 2048", call: createRole("fits", trustOfSize(2048))},
		{name: "trust policy not JSON", call: createRole("j", `{"Version":`), code: "MalformedPolicyDocument", status: 400},
		{name: "trust policy with a resource", call: createRole("res", strings.Replace(trustEC2, `"Action"`, `"Resource":"*","Action"`, 1)),
			code: "MalformedPolicyDocument", status: 400},
		{name: "unknown boundary", call: createRole("b", trustEC2, func(in *iam.CreateRoleInput) {
			in.PermissionsBoundary = aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")
		}), code: "NoSuchEntity", status: 404},
		{name: "inline policy with a principal", call: putPolicy("base", "p", trustEC2), code: "MalformedPolicyDocument", status: 400},
		{name: "inline policy with a bad version", call: putPolicy("base", "p", strings.Replace(readBucket, "2012-10-17", "2020-01-01", 1)),
			code: "MalformedPolicyDocument", status: 400},
		{name: "inline policy name of 129", call: putPolicy("base", long(129), readBucket), code: "ValidationError", status: 400},
		{name: "inline policy on a missing role", call: putPolicy("ghost", "p", readBucket), code: "NoSuchEntity", status: 404,
			message: "The role with name ghost cannot be found."},
		{name: "inline policies over 10240 together", prep: []func(context.Context, *iam.Client) error{putPolicy("base", "one", policyOfSize(6000, false))},
			call: putPolicy("base", "two", policyOfSize(4241, false)), code: "LimitExceeded", status: 409,
			message: "Maximum policy size of 10240 bytes exceeded for role base"},
		{name: "inline policies of exactly 10240, whitespace not counted", prep: []func(context.Context, *iam.Client) error{putPolicy("base", "one", policyOfSize(6000, true))},
			call: putPolicy("base", "two", policyOfSize(4240, true))},
		{name: "replacing an inline policy counts its new size only", prep: []func(context.Context, *iam.Client) error{putPolicy("base", "one", policyOfSize(10000, false))},
			call: putPolicy("base", "one", policyOfSize(10240, false))},
		{name: "51 tags", call: tagRole("base", manyTags(51, "k")), code: "ValidationError", status: 400},
		{name: "tags over 50 in total", prep: []func(context.Context, *iam.Client) error{tagRole("base", manyTags(30, "a"))},
			call: tagRole("base", manyTags(21, "b")), code: "LimitExceeded", status: 409},
		{name: "tag key of 129", call: tagRole("base", tag(long(129), "v")), code: "ValidationError", status: 400},
		{name: "tag value of 257", call: tagRole("base", tag("k", long(257))), code: "ValidationError", status: 400},
		{name: "tag key with a star", call: tagRole("base", tag("a*b", "v")), code: "ValidationError", status: 400},
		{name: "tag keys equal but for case", call: tagRole("base", append(tag("Team", "a"), tag("team", "b")...)), code: "InvalidInput", status: 400},
		{name: "tag key with the aws: prefix", call: tagRole("base", tag("aws:x", "v")), code: "InvalidInput", status: 400},
		{name: "second role in a profile", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("full"), RoleName: aws.String("base")})
			return err
		}, code: "LimitExceeded", status: 409, message: "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"},
		{name: "profile name taken in another case", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("EMPTY"), Path: aws.String("/other/")})
			return err
		}, code: "EntityAlreadyExists", status: 409},
		{name: "delete a role in a profile", call: deleteRole("member"), code: "DeleteConflict", status: 409,
			message: "must remove roles from instance profile first"},
		{name: "delete a role with attached policies", call: deleteRole("attached"), code: "DeleteConflict", status: 409,
			message: "must detach all policies first"},
		{name: "delete a role with inline policies", call: deleteRole("inline"), code: "DeleteConflict", status: 409,
			message: "must delete policies first"},
		{name: "delete a missing role", call: deleteRole("ghost"), code: "NoSuchEntity", status: 404},
		{name: "delete a profile holding a role", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("full")})
			return err
		}, code: "DeleteConflict", status: 409},
		{name: "attach an unknown AWS policy", call: attach("base", "arn:aws:iam::aws:policy/NoSuchPolicy"), code: "NoSuchEntity", status: 404},
		{name: "attach something that is no ARN", call: attach("base", "not-an-arn-just-text"), code: "InvalidInput", status: 400},
		{name: "attach an 11th policy", prep: func() []func(context.Context, *iam.Client) error {
			var steps []func(context.Context, *iam.Client) error
			for _, p := range []string{"AdministratorAccess", "AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ReadOnlyAccess", "AmazonS3FullAccess",
				"AmazonS3ReadOnlyAccess", "AmazonSSMManagedInstanceCore", "AmazonSSMReadOnlyAccess", "CloudWatchAgentAdminPolicy",
				"CloudWatchAgentServerPolicy", "PowerUserAccess"} {
				steps = append(steps, attach("base", "arn:aws:iam::aws:policy/"+p))
			}
			return steps
		}(), call: attach("base", "arn:aws:iam::aws:policy/ReadOnlyAccess"), code: "LimitExceeded", status: 409,
			message: "Cannot exceed quota for PoliciesPerRole: 10"},
		{name: "detach a policy not attached", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("base"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, code: "NoSuchEntity", status: 404},
		{name: "remove a role not in the profile", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("empty"), RoleName: aws.String("base")})
			return err
		}, code: "NoSuchEntity", status: 404},
		{name: "a managed policy over 6144", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("big"), PolicyDocument: aws.String(policyOfSize(6145, false))})
			return err
		}, code: "LimitExceeded", status: 409},
		{name: "delete an AWS-managed policy", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, code: "UnmodifiableEntity", status: 400},
		{name: "MaxItems of 0", call: func(ctx context.Context, c *iam.Client) error {
			_, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(0)})
			return err
		}, code: "ValidationError", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c := setup(t, iamlocal.Options{})
			errorWorld(t, c)
			ctx := context.Background()
			for i, p := range tt.prep {
				must(t, fmt.Sprintf("prep step %d", i+1), p(ctx, c))
			}
			err := tt.call(ctx, c)
			if got := errorCode(t, err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if err == nil {
				return
			}
			if got := httpStatus(err); got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && !strings.Contains(apiErr.ErrorMessage(), tt.message) {
				t.Errorf("message = %q, want it to contain %q", apiErr.ErrorMessage(), tt.message)
			}
		})
	}
}

func deleteRole(name string) func(context.Context, *iam.Client) error {
	return func(ctx context.Context, c *iam.Client) error {
		_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
		return err
	}
}
