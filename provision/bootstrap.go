package provision

import (
	"context"
	"errors"
	"fmt"

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

// BootstrapSpoke creates a member account's provisioner role r (see
// NewSpokeRole) by assuming the account's OrganizationAccountAccessRole
// with base, the identity of the organisation's management account. A
// provisioner role that exists already is left as it is. It returns
// whether it created the role, or an error naming the account and the
// step that failed.
func BootstrapSpoke(ctx context.Context, base aws.Config, r SpokeRole, opts ReconcilersOptions) (bool, error) {
	a := r.Account
	m := roleARNRe.FindStringSubmatch(a.RoleARN) // the partition, as validated
	if m == nil {
		return false, fmt.Errorf("account %s: %q is not a role ARN", a.Name, a.RoleARN)
	}
	access := fmt.Sprintf("%srole/%s", iamARNPrefix(m[1], a.ID), OrganizationAccessRole)
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base, opts.STS...), access,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "rolegate-bootstrap" }))
	client := iam.NewFromConfig(cfg, opts.IAM...)
	_, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(r.Name), Path: aws.String(r.Path), AssumeRolePolicyDocument: aws.String(r.TrustPolicy),
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
		RoleName: aws.String(r.Name), PolicyName: aws.String(ProvisionerPolicyName), PolicyDocument: aws.String(r.Policy),
	}); err != nil {
		return true, fmt.Errorf("account %s: put the permission policy of %s: %w", a.Name, a.RoleARN, err)
	}
	return true, nil
}
