package iamlocal_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

var roleIDPattern = regexp.MustCompile(`^AROA[A-Z0-9]{17}$`)

func TestRoleLifecycle(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	_, c := setup(t, iamlocal.Options{Now: func() time.Time { return created }})
	ctx := context.Background()

	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("app-Reader"),
		Path:                     aws.String("/rolegate/team/"),
		AssumeRolePolicyDocument: aws.String(trustEC2),
		Description:              aws.String("reads my-bucket"),
		MaxSessionDuration:       aws.Int32(7200),
		PermissionsBoundary:      aws.String("arn:aws:iam::aws:policy/PowerUserAccess"),
		Tags:                     []types.Tag{{Key: aws.String("owner"), Value: aws.String("alice@example.com")}},
	})
	must(t, "CreateRole", err)
	r := out.Role
	if got, want := aws.ToString(r.Arn), "arn:aws:iam::123456789012:role/rolegate/team/app-Reader"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if !roleIDPattern.MatchString(aws.ToString(r.RoleId)) {
		t.Errorf("RoleId = %q, want AROA + 17", aws.ToString(r.RoleId))
	}
	if !aws.ToTime(r.CreateDate).Equal(created) {
		t.Errorf("CreateDate = %v, want %v", r.CreateDate, created)
	}
	if got := decode(t, r.AssumeRolePolicyDocument); got != trustEC2 {
		t.Errorf("trust policy = %q, want %q", got, trustEC2)
	}
	if r.PermissionsBoundary == nil || r.PermissionsBoundary.PermissionsBoundaryType != types.PermissionsBoundaryAttachmentTypePolicy {
		t.Errorf("PermissionsBoundary = %+v", r.PermissionsBoundary)
	}

	// Lookups ignore case, as IAM names do.
	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("APP-READER")})
	must(t, "GetRole", err)
	if aws.ToString(got.Role.RoleName) != "app-Reader" || aws.ToInt32(got.Role.MaxSessionDuration) != 7200 ||
		aws.ToString(got.Role.Description) != "reads my-bucket" || len(got.Role.Tags) != 1 {
		t.Errorf("GetRole = %+v", got.Role)
	}

	_, err = c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("app-Reader"),
		Description: aws.String("new"), MaxSessionDuration: aws.Int32(3600)})
	must(t, "UpdateRole", err)
	newTrust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`
	_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app-Reader"), PolicyDocument: aws.String(newTrust)})
	must(t, "UpdateAssumeRolePolicy", err)
	_, err = c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("app-Reader")})
	must(t, "DeleteRolePermissionsBoundary", err)
	got, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-Reader")})
	must(t, "GetRole", err)
	if aws.ToString(got.Role.Description) != "new" || aws.ToInt32(got.Role.MaxSessionDuration) != 3600 ||
		decode(t, got.Role.AssumeRolePolicyDocument) != newTrust || got.Role.PermissionsBoundary != nil {
		t.Errorf("after updates GetRole = %+v", got.Role)
	}
	_, err = c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("app-Reader"),
		PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	must(t, "PutRolePermissionsBoundary", err)
	got, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-Reader")})
	must(t, "GetRole", err)
	if aws.ToString(got.Role.PermissionsBoundary.PermissionsBoundaryArn) != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("boundary = %+v", got.Role.PermissionsBoundary)
	}

	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app-reader")})
	must(t, "DeleteRole", err)
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-Reader")})
	if code := errorCode(t, err); code != "NoSuchEntity" || httpStatus(err) != 404 {
		t.Errorf("GetRole after delete: code %q status %d, want NoSuchEntity 404", code, httpStatus(err))
	}
}

func TestListRolesOmitsBoundaryAndTags(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("tagged"), AssumeRolePolicyDocument: aws.String(trustEC2),
		PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess"),
		Tags:                []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	must(t, "CreateRole", err)
	out, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	must(t, "ListRoles", err)
	if len(out.Roles) != 1 {
		t.Fatalf("ListRoles = %d roles, want 1", len(out.Roles))
	}
	r := out.Roles[0]
	if r.PermissionsBoundary != nil || r.Tags != nil || decode(t, r.AssumeRolePolicyDocument) != trustEC2 {
		t.Errorf("ListRoles item = %+v; want no boundary or tags and the decoded trust policy", r)
	}
}
