package iamlocal_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "iam.json")
	ctx := context.Background()

	_, c := setup(t, iamlocal.Options{StatePath: path})
	created, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("kept"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	must(t, "PutRolePolicy", putPolicy("kept", "p", readBucket)(ctx, c))
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("kept")})
	must(t, "CreateInstanceProfile", err)
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("kept"), RoleName: aws.String("kept")})
	must(t, "AddRoleToInstanceProfile", err)

	_, c2 := setup(t, iamlocal.Options{StatePath: path})
	got, err := c2.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("kept")})
	must(t, "GetRole after restart", err)
	if aws.ToString(got.Role.RoleId) != aws.ToString(created.Role.RoleId) || !aws.ToTime(got.Role.CreateDate).Equal(aws.ToTime(created.Role.CreateDate)) {
		t.Errorf("restarted role = %+v, want %+v", got.Role, created.Role)
	}
	ip, err := c2.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("kept")})
	must(t, "GetInstanceProfile after restart", err)
	if len(ip.InstanceProfile.Roles) != 1 {
		t.Errorf("restarted profile roles = %v", ip.InstanceProfile.Roles)
	}
	pol, err := c2.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("kept"), PolicyName: aws.String("p")})
	must(t, "GetRolePolicy after restart", err)
	if decode(t, pol.PolicyDocument) != readBucket {
		t.Errorf("restarted policy = %q", decode(t, pol.PolicyDocument))
	}
	entries, err := os.ReadDir(dir)
	must(t, "ReadDir", err)
	if len(entries) != 1 {
		t.Errorf("state directory holds %d files, want only the state (no temporary files left)", len(entries))
	}
}

func TestStateFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	must(t, "write", os.WriteFile(corrupt, []byte("{not json"), 0o600))
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"missing file starts empty", filepath.Join(dir, "new.json"), false},
		{"corrupt file", corrupt, true},
		{"a directory", dir, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := iamlocal.New(iamlocal.Options{StatePath: tt.path})
			if (err != nil) != tt.wantErr {
				t.Errorf("New(StatePath=%s) error = %v, want error %v", tt.path, err, tt.wantErr)
			}
		})
	}
}
