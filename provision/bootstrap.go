package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// OrganizationAccessRole is the role AWS Organizations creates in every
// member account it creates, trusting the management account.
const OrganizationAccessRole = "OrganizationAccountAccessRole"

// ProvisionerPolicyName is the name of the provisioner role's inline
// permission policy when BootstrapSpoke creates it.
const ProvisionerPolicyName = "rolegate-provisioner"

// SpokeSetup is what BootstrapSpoke creates in a member account: the
// provisioner role Account.RoleARN names, with its trust policy (who may
// assume it: the hub) and its permission policy (what rolegate does).
type SpokeSetup struct {
	Account          Account
	TrustPolicy      string
	PermissionPolicy string
}

// BootstrapSpoke creates a member account's provisioner role by assuming
// the account's OrganizationAccountAccessRole with base (the identity of
// the organisation's management account). A provisioner role that exists
// already is left as it is. It returns whether it created the role, or an
// error naming the account and the step that failed.
func BootstrapSpoke(ctx context.Context, base aws.Config, s SpokeSetup, opts ReconcilersOptions) (bool, error) {
	a := s.Account
	m := roleARNRe.FindStringSubmatch(a.RoleARN)
	if m == nil {
		return false, fmt.Errorf("account %s: %q is not a role ARN", a.Name, a.RoleARN)
	}
	access := fmt.Sprintf("arn:%s:iam::%s:role/%s", m[1], a.ID, OrganizationAccessRole)
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base, opts.STS...), access,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "rolegate-bootstrap" }))
	client := iam.NewFromConfig(cfg, opts.IAM...)
	rest := a.RoleARN[strings.Index(a.RoleARN, ":role/")+len(":role"):] // "/path/name"
	cut := strings.LastIndex(rest, "/")
	path, name := rest[:cut+1], rest[cut+1:]
	_, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(s.TrustPolicy),
		Description: aws.String("rolegate provisions IAM roles in this account through this role"),
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "EntityAlreadyExists" {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account %s: create %s through %s: %w", a.Name, a.RoleARN, access, err)
	}
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(name), PolicyName: aws.String(ProvisionerPolicyName), PolicyDocument: aws.String(s.PermissionPolicy),
	}); err != nil {
		return true, fmt.Errorf("account %s: put the permission policy of %s: %w", a.Name, a.RoleARN, err)
	}
	return true, nil
}
