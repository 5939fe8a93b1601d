package iamlocal_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

func TestInlinePolicies(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	for _, name := range []string{"zeta", "alpha"} {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String(name), PolicyDocument: aws.String(readBucket)})
		must(t, "PutRolePolicy "+name, err)
	}
	got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("R"), PolicyName: aws.String("alpha")})
	must(t, "GetRolePolicy", err)
	if aws.ToString(got.RoleName) != "r" || aws.ToString(got.PolicyName) != "alpha" || decode(t, got.PolicyDocument) != readBucket {
		t.Errorf("GetRolePolicy = %+v", got)
	}
	list, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("r")})
	must(t, "ListRolePolicies", err)
	if len(list.PolicyNames) != 2 || list.PolicyNames[0] != "alpha" || list.PolicyNames[1] != "zeta" || list.IsTruncated {
		t.Errorf("ListRolePolicies = %v truncated=%v", list.PolicyNames, list.IsTruncated)
	}
	_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("zeta")})
	must(t, "DeleteRolePolicy", err)
	_, err = c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("zeta")})
	if code := errorCode(t, err); code != "NoSuchEntity" || httpStatus(err) != 404 {
		t.Errorf("GetRolePolicy after delete = %q %d", code, httpStatus(err))
	}
}

var policyIDPattern = regexp.MustCompile(`^ANPA[A-Z0-9]{17}$`)

func TestManagedPoliciesAndAttachments(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	created, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("boundary"), Path: aws.String("/rolegate/"),
		PolicyDocument: aws.String(readBucket), Description: aws.String("the ceiling")})
	must(t, "CreatePolicy", err)
	arn := aws.ToString(created.Policy.Arn)
	if arn != "arn:aws:iam::123456789012:policy/rolegate/boundary" || !policyIDPattern.MatchString(aws.ToString(created.Policy.PolicyId)) {
		t.Errorf("CreatePolicy = %+v", created.Policy)
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustEC2), PermissionsBoundary: aws.String(arn)})
	must(t, "CreateRole with customer boundary", err)
	for _, p := range []string{arn, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM"} {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(p)})
		must(t, "AttachRolePolicy "+p, err)
	}
	// Attaching again is a no-op, as in IAM.
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)})
	must(t, "AttachRolePolicy again", err)
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	must(t, "ListAttachedRolePolicies", err)
	if len(att.AttachedPolicies) != 3 {
		t.Fatalf("attached = %+v", att.AttachedPolicies)
	}
	scoped, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r"), PathPrefix: aws.String("/service-role/")})
	must(t, "ListAttachedRolePolicies PathPrefix", err)
	if len(scoped.AttachedPolicies) != 1 || aws.ToString(scoped.AttachedPolicies[0].PolicyName) != "AmazonEC2RoleforSSM" {
		t.Errorf("PathPrefix /service-role/ = %+v", scoped.AttachedPolicies)
	}
	got, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	must(t, "GetPolicy", err)
	if aws.ToInt32(got.Policy.AttachmentCount) != 1 || aws.ToInt32(got.Policy.PermissionsBoundaryUsageCount) != 1 ||
		aws.ToString(got.Policy.DefaultVersionId) != "v1" || !got.Policy.IsAttachable {
		t.Errorf("GetPolicy = %+v", got.Policy)
	}
	version, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	must(t, "GetPolicyVersion", err)
	if decode(t, version.PolicyVersion.Document) != readBucket || !version.PolicyVersion.IsDefaultVersion {
		t.Errorf("GetPolicyVersion = %+v", version.PolicyVersion)
	}
	versions, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	must(t, "ListPolicyVersions", err)
	if len(versions.Versions) != 1 || aws.ToString(versions.Versions[0].VersionId) != "v1" {
		t.Errorf("ListPolicyVersions = %+v", versions.Versions)
	}
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	if code := errorCode(t, err); code != "DeleteConflict" || httpStatus(err) != 409 {
		t.Errorf("DeletePolicy while in use = %q %d, want DeleteConflict 409", code, httpStatus(err))
	}
	_, err = c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)})
	must(t, "DetachRolePolicy", err)
	_, err = c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("r")})
	must(t, "DeleteRolePermissionsBoundary", err)
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	must(t, "DeletePolicy", err)
	aws1, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	must(t, "GetPolicy AWS-managed", err)
	if aws.ToString(aws1.Policy.PolicyName) != "ReadOnlyAccess" || !policyIDPattern.MatchString(aws.ToString(aws1.Policy.PolicyId)) {
		t.Errorf("GetPolicy AWS-managed = %+v", aws1.Policy)
	}
}
