package iamlocal_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

func TestEveryAccountSurvivesARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "iam.json")
	m := setupMulti(t, iamlocal.Options{StatePath: path})
	_, err := m.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("hub-role"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole in the hub", err)
	member := m.memberClient(t)
	_, err = member.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("member-role"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole in the member", err)
	orgRole, err := member.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(iamlocal.OrganizationAccountAccessRole)})
	must(t, "GetRole", err)

	// A restart serving the hub alone keeps the member's state in the file.
	_, hubOnly := setup(t, iamlocal.Options{StatePath: path, AccountID: hubAccount})
	if got := listRoleNames(t, hubOnly); !slices.Equal(got, []string{"hub-role"}) {
		t.Errorf("hub roles after a restart = %v", got)
	}
	_, err = hubOnly.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("hub-two"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole with the hub alone", err)

	m2 := setupMulti(t, iamlocal.Options{StatePath: path})
	member2 := m2.memberClient(t)
	if got := listRoleNames(t, member2); !slices.Equal(got, []string{"member-role", iamlocal.OrganizationAccountAccessRole}) {
		t.Errorf("member roles after restarts = %v", got)
	}
	if got := listRoleNames(t, m2.iam); !slices.Equal(got, []string{"hub-role", "hub-two"}) {
		t.Errorf("hub roles after restarts = %v", got)
	}
	again, err := member2.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(iamlocal.OrganizationAccountAccessRole)})
	must(t, "GetRole after restarts", err)
	if aws.ToString(again.Role.RoleId) != aws.ToString(orgRole.Role.RoleId) {
		t.Errorf("OrganizationAccountAccessRole was made anew: %s, was %s", aws.ToString(again.Role.RoleId), aws.ToString(orgRole.Role.RoleId))
	}
}

// TestSingleAccountStateFileStillReads loads a state file as the endpoint
// wrote it before it held several accounts: its roles are the first
// account's.
func TestSingleAccountStateFileStillReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "iam.json")
	legacy := `{"roles":{"old":{"name":"Old","id":"AROAAAAAAAAAAAAAAAAAA","path":"/","trust_policy":` +
		`"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}",` +
		`"max_session_duration":3600,"created":"2025-01-02T03:04:05Z"}},"profiles":{},"policies":{}}`
	must(t, "write the old state file", os.WriteFile(path, []byte(legacy), 0o600))
	m := setupMulti(t, iamlocal.Options{StatePath: path})
	got, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("old")})
	must(t, "GetRole from the old file", err)
	if aws.ToString(got.Role.Arn) != "arn:aws:iam::"+hubAccount+":role/Old" || aws.ToString(got.Role.RoleId) != "AROAAAAAAAAAAAAAAAAAA" {
		t.Errorf("old role = %s %s", aws.ToString(got.Role.Arn), aws.ToString(got.Role.RoleId))
	}
	if names := listRoleNames(t, m.memberClient(t)); !slices.Equal(names, []string{iamlocal.OrganizationAccountAccessRole}) {
		t.Errorf("member roles = %v", names)
	}
	_, err = m.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("old")})
	must(t, "DeleteRole rewrites the file", err)
	_, c := setup(t, iamlocal.Options{StatePath: path, AccountID: hubAccount})
	if names := listRoleNames(t, c); len(names) != 0 {
		t.Errorf("rewritten file still holds %v", names)
	}
}
