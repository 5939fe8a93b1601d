package iamlocal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// staticSession provides the temporary credentials an AssumeRole answered.
func staticSession(c *ststypes.Credentials) credentials.StaticCredentialsProvider {
	return credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

// wantAPIError fails the test unless err is the API error code with the
// HTTP status and, when message is not "", that message.
func wantAPIError(t *testing.T, step string, err error, code string, status int, message string) {
	t.Helper()
	if got := errorCode(t, err); got != code {
		t.Errorf("%s: error %q, want %s (%v)", step, got, code, err)
		return
	}
	if got := httpStatus(err); got != status {
		t.Errorf("%s: HTTP %d, want %d", step, got, status)
	}
	if message != "" && errorMessage(err) != message {
		t.Errorf("%s: message %q, want %q", step, errorMessage(err), message)
	}
}

func TestAssumeRoleTrustPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := setupMulti(t, iamlocal.Options{})
	hubRoot := "arn:aws:iam::" + hubAccount + ":root"
	roles := map[string]string{
		"stranger": hubTrust("arn:aws:iam::999999999999:root", ""),
		"service":  trustEC2,
		"bare":     hubTrust(hubAccount, ""),
		"ext":      hubTrust(hubRoot, `{"StringEquals":{"sts:ExternalId":"s3cret-id"}}`),
		"denied": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:*"},` +
			`{"Effect":"Deny","Principal":{"AWS":"` + hubRoot + `"},"Action":"sts:AssumeRole"}]}`,
		"other-condition": hubTrust(hubRoot, `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`),
	}
	for name, trust := range roles {
		_, err := m.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
		must(t, "CreateRole "+name, err)
	}
	arn := func(name string) string { return "arn:aws:iam::" + hubAccount + ":role/" + name }
	ext := func(id string) func(*sts.AssumeRoleInput) {
		return func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String(id) }
	}
	for _, tc := range []struct {
		name, role string
		mod        []func(*sts.AssumeRoleInput)
		allowed    bool
	}{
		{name: "another account's root is trusted", role: "stranger"},
		{name: "only a service is trusted", role: "service"},
		{name: "no such role", role: "ghost"},
		{name: "the bare account ID is trusted", role: "bare", allowed: true},
		{name: "external ID missing", role: "ext"},
		{name: "external ID wrong", role: "ext", mod: []func(*sts.AssumeRoleInput){ext("wrong-id")}},
		{name: "external ID right", role: "ext", mod: []func(*sts.AssumeRoleInput){ext("s3cret-id")}, allowed: true},
		{name: "a Deny beats an Allow", role: "denied"},
		{name: "a condition not understood is not met", role: "other-condition"},
	} {
		_, err := m.assume(arn(tc.role), tc.mod...)
		if tc.allowed {
			must(t, tc.name, err)
			continue
		}
		wantAPIError(t, tc.name, err, "AccessDenied", http.StatusForbidden,
			"User: "+hubRoot+" is not authorized to perform: sts:AssumeRole on resource: "+arn(tc.role))
	}
	_, err := m.assume("arn:aws:iam::333333333333:role/" + iamlocal.OrganizationAccountAccessRole)
	wantAPIError(t, "an account not served", err, "AccessDenied", http.StatusForbidden, "")
}

func TestAssumeRoleFromASession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := setupMulti(t, iamlocal.Options{})
	sessionARN := "arn:aws:sts::" + memberAccount + ":assumed-role/OrganizationAccountAccessRole/s1"
	for name, principal := range map[string]string{"by-role": orgRoleARN, "by-session": sessionARN} {
		_, err := m.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(hubTrust(principal, ""))})
		must(t, "CreateRole "+name, err)
	}
	out, err := m.assume(orgRoleARN)
	must(t, "AssumeRole into the member", err)
	chained := sts.NewFromConfig(iamlocaltest.Config(), func(o *sts.Options) {
		o.BaseEndpoint = aws.String(m.base)
		o.Credentials = staticSession(out.Credentials)
	})
	for _, name := range []string{"by-role", "by-session"} {
		in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + hubAccount + ":role/" + name), RoleSessionName: aws.String("back")}
		_, err := chained.AssumeRole(ctx, in)
		must(t, "AssumeRole "+name+" from the member's session", err)
		in.DurationSeconds = aws.Int32(3601)
		_, err = chained.AssumeRole(ctx, in)
		wantAPIError(t, "role chaining past an hour", err, "ValidationError", http.StatusBadRequest,
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	// The hub's root is not the member's session: the role trusting only
	// the session refuses plain credentials.
	_, err = m.assume("arn:aws:iam::" + hubAccount + ":role/by-session")
	wantAPIError(t, "plain credentials on a role trusting a session", err, "AccessDenied", http.StatusForbidden, "")
	// Nor may the session assume the member's own role, which trusts the hub.
	_, err = chained.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(orgRoleARN), RoleSessionName: aws.String("again")})
	wantAPIError(t, "session on a role trusting the hub's root", err, "AccessDenied", http.StatusForbidden,
		"User: "+sessionARN+" is not authorized to perform: sts:AssumeRole on resource: "+orgRoleARN)
}

func TestAssumeRoleValidation(t *testing.T) {
	t.Parallel()
	m := setupMulti(t, iamlocal.Options{})
	for _, tc := range []struct {
		name    string
		arn     string
		mod     func(*sts.AssumeRoleInput)
		message string
	}{
		{"session name of one character", orgRoleARN, func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String("a") },
			"1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"session name with a space", orgRoleARN, func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String("a b") },
			`1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"session name of 65", orgRoleARN, func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String(strings.Repeat("s", 65)) },
			"1 validation error detected: Value '" + strings.Repeat("s", 65) + "' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"duration under 900", orgRoleARN, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(899) },
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"duration past the role's maximum", orgRoleARN, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(3601) },
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"not a role ARN", "arn:aws:iam::" + memberAccount + ":user/somebody", nil, "Request ARN is invalid"},
	} {
		var mods []func(*sts.AssumeRoleInput)
		if tc.mod != nil {
			mods = append(mods, tc.mod)
		}
		_, err := m.assume(tc.arn, mods...)
		wantAPIError(t, tc.name, err, "ValidationError", http.StatusBadRequest, tc.message)
	}
	out, err := m.assume(orgRoleARN, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(900) })
	must(t, "AssumeRole for 900 seconds", err)
	if left := time.Until(aws.ToTime(out.Credentials.Expiration)); left > 15*time.Minute || left < 14*time.Minute {
		t.Errorf("a 900-second session expires in %v", left)
	}
}

func TestSessionCredentialsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	m := setupMulti(t, iamlocal.Options{Now: clock.Now})
	out, err := m.assume(orgRoleARN, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(900) })
	must(t, "AssumeRole", err)
	if got := aws.ToTime(out.Credentials.Expiration); !got.Equal(clock.Now().Add(900 * time.Second)) {
		t.Errorf("expiration = %v, want the clock plus 900s", got)
	}
	member := iamlocaltest.SessionClient(t, m.base, out.Credentials)
	clock.Advance(899 * time.Second)
	_, err = member.ListRoles(ctx, &iam.ListRolesInput{})
	must(t, "ListRoles a second before expiry", err)
	clock.Advance(time.Second)
	_, err = member.ListRoles(ctx, &iam.ListRolesInput{})
	wantAPIError(t, "ListRoles at expiry", err, "ExpiredToken", http.StatusForbidden, "The security token included in the request is expired")
}

func TestUnknownSessionCredentialsRefused(t *testing.T) {
	t.Parallel()
	m := setupMulti(t, iamlocal.Options{})
	out, err := m.assume(orgRoleARN)
	must(t, "AssumeRole", err)
	const invalid = "The security token included in the request is invalid."
	for name, creds := range map[string]*ststypes.Credentials{
		"an ASIA key never issued": {AccessKeyId: aws.String("ASIAAAAAAAAAAAAAAAAA"), SecretAccessKey: aws.String("x"), SessionToken: aws.String("x")},
		"an issued key with another token": {AccessKeyId: out.Credentials.AccessKeyId, SecretAccessKey: out.Credentials.SecretAccessKey,
			SessionToken: aws.String("not-the-token")},
		"an issued key without its token": {AccessKeyId: out.Credentials.AccessKeyId, SecretAccessKey: out.Credentials.SecretAccessKey},
	} {
		_, err := iamlocaltest.SessionClient(t, m.base, creds).ListRoles(context.Background(), &iam.ListRolesInput{})
		wantAPIError(t, name, err, "InvalidClientTokenId", http.StatusForbidden, invalid)
	}
}

// TestAssumeRoleProviderRefreshesBeforeExpiry runs the SDK's own
// AssumeRole provider behind its credentials cache: the cache must assume
// the role again once the credentials it holds are within its expiry
// window, and not before. The endpoint's clock sets the Expiration it
// answers, so a clock behind real time makes credentials that expire soon.
func TestAssumeRoleProviderRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &fakeClock{t: time.Now().Add(-870 * time.Second)}
	m := setupMulti(t, iamlocal.Options{Now: clock.Now})
	cache := func() *aws.CredentialsCache {
		provider := stscreds.NewAssumeRoleProvider(m.sts, orgRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.Duration = 900 * time.Second
		})
		return aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = time.Minute })
	}
	// retrieveTwice retrieves credentials twice from a new cache and
	// reports whether the second were new ones.
	retrieveTwice := func() (aws.Credentials, bool) {
		t.Helper()
		c := cache()
		first, err := c.Retrieve(ctx)
		must(t, "Retrieve", err)
		second, err := c.Retrieve(ctx)
		must(t, "Retrieve again", err)
		return second, first.AccessKeyID != second.AccessKeyID
	}
	// Credentials issued at the endpoint's time expire 30 seconds from real
	// time: inside the one-minute window, so every Retrieve must refresh.
	creds, refreshed := retrieveTwice()
	if n := m.srv.Calls("AssumeRole"); n != 2 || !refreshed {
		t.Fatalf("credentials within the expiry window: %d AssumeRole calls (refreshed %v), want 2", n, refreshed)
	}
	m.srv.ResetCounters()
	clock.Advance(870 * time.Second)
	if _, refreshed := retrieveTwice(); refreshed || m.srv.Calls("AssumeRole") != 1 {
		t.Fatalf("fresh 15-minute credentials: %d AssumeRole calls (refreshed %v), want 1", m.srv.Calls("AssumeRole"), refreshed)
	}
	member := iam.NewFromConfig(iamlocaltest.Config(), func(o *iam.Options) {
		o.BaseEndpoint = aws.String(m.base)
		o.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	})
	if _, err := member.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(iamlocal.OrganizationAccountAccessRole)}); err != nil {
		t.Errorf("refreshed credentials do not act in the member account: %v", err)
	}
}

func TestAssumeRoleRawResponse(t *testing.T) {
	t.Parallel()
	_, base := iamlocaltest.Start(t, iamlocal.Options{Accounts: []string{hubAccount, memberAccount}})
	body, status := post(t, base, "Action=AssumeRole&Version=2011-06-15&RoleSessionName=raw&RoleArn="+orgRoleARN, true)
	for _, want := range []string{
		`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROA`,
		`:raw</AssumedRoleId><Arn>arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/raw</Arn></AssumedRoleUser><Credentials><AccessKeyId>ASIA`,
		`</SessionToken><Expiration>`, `Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>`,
	} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("answer %d lacks %s:\n%s", status, want, body)
		}
	}
}
