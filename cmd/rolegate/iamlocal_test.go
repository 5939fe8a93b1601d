package main

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

var iamListeningRE = regexp.MustCompile(`iam-local listening on (http://\S+)`)

// TestIAMLocalCommandKeepsStateInItsFile runs `rolegate iam-local` twice on
// one state file and talks to it through the real SDK client.
func TestIAMLocalCommandKeepsStateInItsFile(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "iam.json")
	start := func() (string, func()) {
		return startIAMLocal(t, []string{"--state", state}, func(string) string { return "" })
	}
	url, stop := start()
	client := iamlocaltest.Client(t, url)
	ctx := context.Background()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("kept"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	stop()

	url, stop = start()
	defer stop()
	got, err := iamlocaltest.Client(t, url).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("KEPT")})
	if err != nil {
		t.Fatalf("role lost across restarts (or names not case-insensitive): %v", err)
	}
	if !strings.HasPrefix(aws.ToString(got.Role.RoleId), "AROA") {
		t.Fatalf("role id %q", aws.ToString(got.Role.RoleId))
	}
}

// startIAMLocal runs `rolegate iam-local` on a free port with the extra
// args and environment; it returns its URL and a stop function that fails
// the test when the command ends with an error.
func startIAMLocal(t *testing.T, args []string, getenv func(string) string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"rolegate", "iam-local", "--listen", "127.0.0.1:0"}, args...), getenv, out, io.Discard)
	}()
	url := out.waitFor(t, iamListeningRE, done)
	return url, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("iam-local returned %v", err)
		}
	}
}

// TestIAMLocalCommandServesAccounts starts iam-local with two accounts from
// IAM_LOCAL_ACCOUNTS, assumes the member's OrganizationAccountAccessRole
// and creates a role there that the first account does not see.
func TestIAMLocalCommandServesAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := map[string]string{"IAM_LOCAL_ACCOUNTS": "111111111111, 222222222222"}
	url, stop := startIAMLocal(t, nil, func(k string) string { return env[k] })
	defer stop()
	out, err := iamlocaltest.STSClient(t, url).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("cli")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	created, err := iamlocaltest.SessionClient(t, url, out.Credentials).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("spoke"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole in the member account: %v", err)
	}
	if got := aws.ToString(created.Role.Arn); got != "arn:aws:iam::222222222222:role/spoke" {
		t.Errorf("role ARN = %s", got)
	}
	id, err := iamlocaltest.STSClient(t, url).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "111111111111" {
		t.Errorf("plain credentials act in %s (%v), want the first account", aws.ToString(id.Account), err)
	}
}

func TestIAMLocalCommandRefusesBadSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"IAM_LOCAL_THROTTLE_RATE": "often"}
	err := run(context.Background(), []string{"rolegate", "iam-local", "--failure-rate", "2"},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("accepted a throttle rate of 'often' and a failure rate of 2")
	}
	if !strings.Contains(err.Error(), "IAM_LOCAL_THROTTLE_RATE") || !strings.Contains(err.Error(), "failure-rate") {
		t.Fatalf("error does not name both settings: %v", err)
	}
	for _, args := range [][]string{
		{"--accounts", "111111111111,2222"},
		{"--accounts", "111111111111,111111111111"},
		{"--accounts", "111111111111,222222222222", "--account-id", "222222222222"},
	} {
		err := run(context.Background(), append([]string{"rolegate", "iam-local"}, args...),
			func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--accounts") {
			t.Errorf("iam-local %v: error %v, want one naming --accounts", args, err)
		}
	}
	// Refused at start, naming the flag: an account ID iamlocal refused
	// as "iamlocal: account ID must be 12 digits", and a state file in a
	// directory that does not exist, which iam-local served with, failing
	// every write with ServiceFailure.
	missing := filepath.Join(t.TempDir(), "missing")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--account-id", "1"}, `--account-id / IAM_LOCAL_ACCOUNT_ID: "1" is not a 12-digit account ID`},
		{[]string{"--state", filepath.Join(missing, "iam.json")}, "--state / IAM_LOCAL_STATE: the directory " + missing + " does not exist"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, append([]string{"rolegate", "iam-local", "--listen", "127.0.0.1:0"}, c.args...),
			func(string) string { return "" }, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("iam-local %v: error %v, want one saying %q", c.args, err, c.want)
		}
	}
}
