package iamlocal_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// The accounts of the STS conformance scenario: moto's default account,
// where plain credentials act on both endpoints, and a member account.
const (
	cfHub    = "123456789012"
	cfMember = "222222222222"
)

// TestConformanceAssumeRole runs AssumeRole and calls across accounts
// through the Go SDK against iamlocal (serving both accounts) and moto,
// comparing both with AWS's answers. Moto's known differences: it does not
// evaluate trust policies (any caller may assume any role), the role need
// not exist, member accounts do not start with
// OrganizationAccountAccessRole, and it checks neither the session's
// parameters nor its credentials.
func TestConformanceAssumeRole(t *testing.T) {
	t.Parallel()
	for _, target := range conformanceTargets(iamlocal.Options{Accounts: []string{cfHub, cfMember}}) {
		t.Run(target.name, func(t *testing.T) {
			t.Parallel()
			base := target.start(t)
			runScenario(t, iamlocaltest.Client(t, base), target.name == "moto", stsScenario(t, base))
		})
	}
}

// stsEnv is what the STS steps share: the endpoint and the session the
// first step assumes.
type stsEnv struct {
	t       *testing.T
	base    string
	sts     *sts.Client
	session *ststypes.Credentials
}

func (e *stsEnv) member() *iam.Client { return iamlocaltest.SessionClient(e.t, e.base, e.session) }

// assume is a step assuming the role of the account with the prefix
// before its name; it answers "ok" or the error.
func (e *stsEnv) assume(account, name string, mod ...func(*sts.AssumeRoleInput)) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, _ *iam.Client, p string) (string, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + account + ":role/" + p + name), RoleSessionName: aws.String("cf")}
		for _, f := range mod {
			f(in)
		}
		return ok(e.sts.AssumeRole(ctx, in))
	}
}

var (
	cfSessionKey = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)
	cfAssumedID  = regexp.MustCompile(`^AROA[A-Z0-9]{17}:cf$`)
)

// shapeOf is label when value matches re, else "other".
func shapeOf(re *regexp.Regexp, value *string, label string) string {
	if re.MatchString(aws.ToString(value)) {
		return label
	}
	return "other"
}

func stsScenario(t *testing.T, base string) scenario {
	e := &stsEnv{t: t, base: base, sts: iamlocaltest.STSClient(t, base)}
	hubRoot := "arn:aws:iam::" + cfHub + ":root"
	extID := func(id string) func(*sts.AssumeRoleInput) {
		return func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String(id) }
	}
	arn := func(s string, p string) string { return strings.ReplaceAll(s, p, "P") }
	const noTrust = "moto does not evaluate trust policies"
	return scenario{name: "sts", steps: []step{
		{name: "assume the member's OrganizationAccountAccessRole", do: func(ctx context.Context, _ *iam.Client, _ string) (string, error) {
			out, err := e.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
				RoleArn: aws.String("arn:aws:iam::" + cfMember + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("cf")})
			if err != nil {
				return "", err
			}
			e.session = out.Credentials
			return aws.ToString(out.AssumedRoleUser.Arn) + " key=" + shapeOf(cfSessionKey, out.Credentials.AccessKeyId, "ASIA+16") +
				" id=" + shapeOf(cfAssumedID, out.AssumedRoleUser.AssumedRoleId, "AROA+17:cf"), nil
		}, want: "arn:aws:sts::" + cfMember + ":assumed-role/OrganizationAccountAccessRole/cf key=ASIA+16 id=AROA+17:cf"},
		{name: "the session's caller identity", do: func(ctx context.Context, _ *iam.Client, _ string) (string, error) {
			out, err := sts.NewFromConfig(iamlocaltest.Config(), func(o *sts.Options) {
				o.BaseEndpoint = aws.String(e.base)
				o.Credentials = staticSession(e.session)
			}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.Account) + " " + aws.ToString(out.Arn), nil
		}, want: cfMember + " arn:aws:sts::" + cfMember + ":assumed-role/OrganizationAccountAccessRole/cf"},
		{name: "the member's OrganizationAccountAccessRole", do: func(ctx context.Context, _ *iam.Client, _ string) (string, error) {
			return ok(e.member().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("OrganizationAccountAccessRole")}))
		}, want: "ok", moto: "error NoSuchEntity", diff: "member accounts do not start with OrganizationAccountAccessRole"},
		{name: "create a role in the member account", do: func(ctx context.Context, _ *iam.Client, p string) (string, error) {
			out, err := e.member().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p + "spoke"), AssumeRolePolicyDocument: aws.String(trustEC2)})
			if err != nil {
				return "", err
			}
			return arn(aws.ToString(out.Role.Arn), p), nil
		}, want: "arn:aws:iam::" + cfMember + ":role/Pspoke"},
		{name: "the first account does not see it", do: cfGetRole("spoke"), want: "error NoSuchEntity"},
		{name: "the same name in the first account", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p + "spoke"), AssumeRolePolicyDocument: aws.String(trustEC2)})
			if err != nil {
				return "", err
			}
			return arn(aws.ToString(out.Role.Arn), p), nil
		}, want: "arn:aws:iam::" + cfHub + ":role/Pspoke"},
		{name: "create a role trusting another account", do: cfCreateRole("stranger", hubTrust("arn:aws:iam::999999999999:root", "")), want: "ok"},
		{name: "assume it", do: e.assume(cfHub, "stranger"), want: "error AccessDenied", moto: "ok", diff: noTrust},
		{name: "create a role trusting an EC2 instance only", do: cfCreateRole("ec2", trustEC2), want: "ok"},
		{name: "assume it", do: e.assume(cfHub, "ec2"), want: "error AccessDenied", moto: "ok", diff: noTrust},
		{name: "create a role requiring an external ID", do: cfCreateRole("ext", hubTrust(hubRoot, `{"StringEquals":{"sts:ExternalId":"cf-ext-id"}}`)), want: "ok"},
		{name: "assume it without the external ID", do: e.assume(cfHub, "ext"), want: "error AccessDenied", moto: "ok", diff: noTrust},
		{name: "assume it with a wrong external ID", do: e.assume(cfHub, "ext", extID("wrong-id")), want: "error AccessDenied", moto: "ok", diff: noTrust},
		{name: "assume it with the external ID", do: e.assume(cfHub, "ext", extID("cf-ext-id")), want: "ok"},
		{name: "assume a role that does not exist", do: e.assume(cfMember, "ghost"),
			want: "error AccessDenied", moto: "ok", diff: "the role need not exist"},
		{name: "session name of one character", do: e.assume(cfHub, "ext", extID("cf-ext-id"), func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String("a") }),
			want: "error ValidationError", moto: "ok", diff: "no session name check"},
		{name: "session of 899 seconds", do: e.assume(cfHub, "ext", extID("cf-ext-id"), func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(899) }),
			want: "error ValidationError", moto: "ok", diff: "no DurationSeconds check"},
		{name: "a session key never issued", do: func(ctx context.Context, _ *iam.Client, _ string) (string, error) {
			forged := &ststypes.Credentials{AccessKeyId: aws.String("ASIAAAAAAAAAAAAAAAAA"), SecretAccessKey: aws.String("x"), SessionToken: aws.String("x")}
			return ok(iamlocaltest.SessionClient(e.t, e.base, forged).ListRoles(ctx, &iam.ListRolesInput{}))
		}, want: "error InvalidClientTokenId", moto: "ok", diff: "session credentials are not checked"},
	}}
}
