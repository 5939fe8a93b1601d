package main

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

var iamListeningRE = regexp.MustCompile(`iam-local listening on (http://\S+)`)

// TestIAMLocalCommandKeepsStateInItsFile runs `rolegate iam-local` twice on
// one state file and talks to it through the real SDK client.
func TestIAMLocalCommandKeepsStateInItsFile(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "iam.json")
	start := func() (string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		out := newSyncBuffer()
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"rolegate", "iam-local", "--listen", "127.0.0.1:0", "--state", state},
				func(string) string { return "" }, out, io.Discard)
		}()
		url := out.waitFor(t, iamListeningRE, done)
		return url, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("iam-local returned %v", err)
			}
		}
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
}
