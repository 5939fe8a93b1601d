package iamlocal_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// The accounts of the multi-account tests: the hub whose plain
// credentials act, and a member account.
const (
	hubAccount    = "111111111111"
	memberAccount = "222222222222"
)

// orgRoleARN is OrganizationAccountAccessRole in the member account.
const orgRoleARN = "arn:aws:iam::" + memberAccount + ":role/" + iamlocal.OrganizationAccountAccessRole

// hubTrust returns a trust policy letting principal assume the role,
// under an extra condition block when condition is not "".
func hubTrust(principal, condition string) string {
	cond := ""
	if condition != "" {
		cond = `, "Condition": ` + condition
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal +
		`"},"Action":"sts:AssumeRole"` + cond + `}]}`
}

// multi is an endpoint serving the hub and member accounts, with an STS
// client and an IAM client on the hub's plain credentials.
type multi struct {
	srv  *iamlocal.Server
	base string
	sts  *sts.Client
	iam  *iam.Client
}

func setupMulti(t *testing.T, opts iamlocal.Options) multi {
	t.Helper()
	opts.Accounts = []string{hubAccount, memberAccount}
	srv, base := iamlocaltest.Start(t, opts)
	return multi{srv: srv, base: base, sts: iamlocaltest.STSClient(t, base), iam: iamlocaltest.Client(t, base)}
}

// assume calls AssumeRole on roleARN with the session name "s1".
func (m multi) assume(roleARN string, mod ...func(*sts.AssumeRoleInput)) (*sts.AssumeRoleOutput, error) {
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")}
	for _, f := range mod {
		f(in)
	}
	return m.sts.AssumeRole(context.Background(), in)
}

// memberClient assumes OrganizationAccountAccessRole and returns an IAM
// client acting in the member account.
func (m multi) memberClient(t *testing.T) *iam.Client {
	t.Helper()
	out, err := m.assume(orgRoleARN)
	must(t, "AssumeRole into the member account", err)
	return iamlocaltest.SessionClient(t, m.base, out.Credentials)
}

// listRoleNames lists the names of the roles c's account holds.
func listRoleNames(t *testing.T, c *iam.Client) []string {
	t.Helper()
	out, err := c.ListRoles(context.Background(), &iam.ListRolesInput{})
	must(t, "ListRoles", err)
	return roleNames(out)
}

var (
	sessionKeyShape  = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)
	assumedRoleShape = regexp.MustCompile(`^AROA[A-Z0-9]{17}:s1$`)
)

func TestAssumeRoleIntoMemberAccountActsThere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := setupMulti(t, iamlocal.Options{})
	before := time.Now()
	out, err := m.assume(orgRoleARN)
	must(t, "AssumeRole", err)
	creds, user := out.Credentials, out.AssumedRoleUser
	if !sessionKeyShape.MatchString(aws.ToString(creds.AccessKeyId)) || aws.ToString(creds.SecretAccessKey) == "" || aws.ToString(creds.SessionToken) == "" {
		t.Errorf("credentials = %s / %q / %q", aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))
	}
	if exp := aws.ToTime(creds.Expiration); exp.Before(before.Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("expiration %v is not an hour from now", exp)
	}
	wantARN := "arn:aws:sts::" + memberAccount + ":assumed-role/OrganizationAccountAccessRole/s1"
	if !assumedRoleShape.MatchString(aws.ToString(user.AssumedRoleId)) || aws.ToString(user.Arn) != wantARN {
		t.Errorf("assumed role user = %s %s", aws.ToString(user.AssumedRoleId), aws.ToString(user.Arn))
	}

	member := iamlocaltest.SessionClient(t, m.base, creds)
	created, err := member.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("spoke-only"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole in the member account", err)
	if got := aws.ToString(created.Role.Arn); got != "arn:aws:iam::"+memberAccount+":role/spoke-only" {
		t.Errorf("role ARN = %s", got)
	}
	if got := listRoleNames(t, member); !slices.Equal(got, []string{"OrganizationAccountAccessRole", "spoke-only"}) {
		t.Errorf("member account roles = %v", got)
	}
	if got := listRoleNames(t, m.iam); len(got) != 0 {
		t.Errorf("hub account sees roles %v; the member's must stay in the member account", got)
	}
	_, err = m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("spoke-only")})
	if code := errorCode(t, err); code != "NoSuchEntity" {
		t.Errorf("GetRole in the hub = %q, want NoSuchEntity", code)
	}

	id, err := sts.NewFromConfig(iamlocaltest.Config(), func(o *sts.Options) {
		o.BaseEndpoint = aws.String(m.base)
		o.Credentials = aws.NewCredentialsCache(staticSession(creds))
	}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, "GetCallerIdentity with session credentials", err)
	if aws.ToString(id.Arn) != wantARN || aws.ToString(id.Account) != memberAccount || aws.ToString(id.UserId) != aws.ToString(user.AssumedRoleId) {
		t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(id.UserId), aws.ToString(id.Account), aws.ToString(id.Arn))
	}
}

func TestOrganizationAccountAccessRoleAsAWSOrganizationsMakesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := setupMulti(t, iamlocal.Options{ConsistencyDelay: time.Hour})
	member := m.memberClient(t)
	got, err := member.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(iamlocal.OrganizationAccountAccessRole)})
	must(t, "GetRole", err)
	if aws.ToString(got.Role.Path) != "/" || aws.ToString(got.Role.Arn) != orgRoleARN {
		t.Errorf("role = %s %s", aws.ToString(got.Role.Path), aws.ToString(got.Role.Arn))
	}
	if trust := decode(t, got.Role.AssumeRolePolicyDocument); !strings.Contains(trust, `"AWS":"arn:aws:iam::`+hubAccount+`:root"`) {
		t.Errorf("trust policy = %s", trust)
	}
	attached, err := member.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(iamlocal.OrganizationAccountAccessRole)})
	must(t, "ListAttachedRolePolicies", err)
	if len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/AdministratorAccess" {
		t.Errorf("attached = %+v", attached.AttachedPolicies)
	}
	if names := listRoleNames(t, m.iam); len(names) != 0 {
		t.Errorf("the first account starts with roles %v", names)
	}
}

func TestSameRoleNameInTwoAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := setupMulti(t, iamlocal.Options{})
	member := m.memberClient(t)
	var ids []string
	for _, c := range []*iam.Client{m.iam, member} {
		out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trustEC2)})
		must(t, "CreateRole app", err)
		ids = append(ids, aws.ToString(out.Role.RoleId)+" "+aws.ToString(out.Role.Arn))
	}
	want := []string{"arn:aws:iam::" + hubAccount + ":role/app", "arn:aws:iam::" + memberAccount + ":role/app"}
	for i, w := range want {
		if !strings.HasSuffix(ids[i], " "+w) {
			t.Errorf("role %d = %s, want ARN %s", i, ids[i], w)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("both accounts' roles are one: %v", ids)
	}
	_, err := m.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")})
	must(t, "DeleteRole in the hub", err)
	if _, err := member.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Errorf("deleting the hub's role took the member's: %v", err)
	}
}

func TestAssumeRoleOptionsRefused(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]iamlocal.Options{
		"an account twice":              {Accounts: []string{hubAccount, hubAccount}},
		"an account of 11 digits":       {Accounts: []string{hubAccount, "22222222222"}},
		"AccountID not the first":       {AccountID: memberAccount, Accounts: []string{hubAccount, memberAccount}},
		"AccountID not digits":          {AccountID: "12345678901x"},
		"an account ID with a space in": {Accounts: []string{" 11111111111"}},
	} {
		if _, err := iamlocal.New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := iamlocal.New(iamlocal.Options{AccountID: hubAccount, Accounts: []string{hubAccount, memberAccount}}); err != nil {
		t.Errorf("AccountID equal to the first account refused: %v", err)
	}
}
