package iamlocal_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

var profileIDPattern = regexp.MustCompile(`^AIPA[A-Z0-9]{17}$`)

func TestInstanceProfileLifecycle(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{AccountID: "210987654321"})
	ctx := context.Background()
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	out, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String("web-profile"), Path: aws.String("/rolegate/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}},
	})
	must(t, "CreateInstanceProfile", err)
	ip := out.InstanceProfile
	if got, want := aws.ToString(ip.Arn), "arn:aws:iam::210987654321:instance-profile/rolegate/web-profile"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if !profileIDPattern.MatchString(aws.ToString(ip.InstanceProfileId)) {
		t.Errorf("InstanceProfileId = %q, want AIPA + 17", aws.ToString(ip.InstanceProfileId))
	}
	if len(ip.Roles) != 0 || len(ip.Tags) != 1 {
		t.Errorf("new profile Roles=%v Tags=%v", ip.Roles, ip.Tags)
	}

	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), RoleName: aws.String("web")})
	must(t, "AddRoleToInstanceProfile", err)
	got, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("WEB-PROFILE")})
	must(t, "GetInstanceProfile", err)
	if len(got.InstanceProfile.Roles) != 1 || aws.ToString(got.InstanceProfile.Roles[0].RoleName) != "web" ||
		decode(t, got.InstanceProfile.Roles[0].AssumeRolePolicyDocument) != trustEC2 {
		t.Fatalf("profile roles = %+v", got.InstanceProfile.Roles)
	}
	forRole, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("web")})
	must(t, "ListInstanceProfilesForRole", err)
	if len(forRole.InstanceProfiles) != 1 || aws.ToString(forRole.InstanceProfiles[0].InstanceProfileName) != "web-profile" {
		t.Errorf("ListInstanceProfilesForRole = %+v", forRole.InstanceProfiles)
	}

	_, err = c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String("web-profile"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("TEAM"), Value: aws.String("ml")}}})
	must(t, "TagInstanceProfile", err)
	_, err = c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), TagKeys: []string{"env"}})
	must(t, "UntagInstanceProfile", err)
	tags, err := c.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("web-profile")})
	must(t, "ListInstanceProfileTags", err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" || aws.ToString(tags.Tags[0].Value) != "ml" {
		t.Errorf("tags = %+v, want team=ml (the key keeps its first spelling)", tags.Tags)
	}

	_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), RoleName: aws.String("web")})
	must(t, "RemoveRoleFromInstanceProfile", err)
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	must(t, "DeleteInstanceProfile", err)
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	if code := errorCode(t, err); code != "NoSuchEntity" {
		t.Errorf("GetInstanceProfile after delete = %q, want NoSuchEntity", code)
	}
}
