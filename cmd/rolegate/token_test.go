package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// tokenCLI runs `rolegate token ...` and returns its standard output.
func tokenCLI(t *testing.T, dbURL string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
	err := run(context.Background(), append([]string{"rolegate", "token"}, args...), env, &out, &errOut)
	return out.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestTokenCreateListRevoke(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	out, err := tokenCLI(t, dbURL, "create", "--user", "bob", "--role", "approver", "--role", "requester", "--group", "data-owners", "--expires", "90d")
	if err != nil {
		t.Fatal(err)
	}
	secret := lastLine(out)
	if !strings.HasPrefix(secret, store.TokenPrefix) {
		t.Fatalf("last line %q is not a token", secret)
	}
	db := storetest.Open(t, dbURL, store.Options{})
	tok, err := db.Authenticate(context.Background(), secret)
	if err != nil || tok.User != "bob" || !tok.Actor().Has(store.RoleApprover) || !tok.Actor().InGroup("data-owners") ||
		tok.ExpiresAt == nil || tok.ExpiresAt.Before(time.Now().Add(89*24*time.Hour)) {
		t.Fatalf("token %+v, %v", tok, err)
	}
	list, err := tokenCLI(t, dbURL, "list")
	if err != nil || !strings.Contains(list, "bob") || !strings.Contains(list, "approver,requester") || strings.Contains(list, secret[len(secret)-20:]) {
		t.Fatalf("list: %v\n%s", err, list)
	}
	// IDs are read strictly: "01" and "+1" are not token 1.
	for _, alias := range []string{"01", "+1", " 1"} {
		if out, err := tokenCLI(t, dbURL, "revoke", alias); err == nil {
			t.Fatalf("revoke %q revoked: %s", alias, out)
		}
	}
	if _, err := db.Authenticate(context.Background(), secret); err != nil {
		t.Fatalf("the token stopped working after refused revokes: %v", err)
	}
	if out, err := tokenCLI(t, dbURL, "revoke", "1"); err != nil || !strings.Contains(out, "revoked token 1") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, err := db.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("a revoked token still authenticates")
	}
	if list, _ := tokenCLI(t, dbURL, "list", "--user", "bob"); !strings.Contains(list, "revoked") {
		t.Fatalf("list after revoke:\n%s", list)
	}
	for _, bad := range [][]string{
		{"create"}, {"create", "--user", "x", "--role", "root"}, {"create", "--user", "x", "--expires", "soon"},
		{"revoke"}, {"revoke", "abc"}, {"revoke", "1"}, {"revoke", "99"}, {"frobnicate"},
	} {
		if _, err := tokenCLI(t, dbURL, bad...); err == nil {
			t.Errorf("token %v succeeded", bad)
		}
	}
}

// apiWalkthrough is the curl walk-through of README.md's API section,
// after the tokens are made with `rolegate token create`.
const apiWalkthrough = `REQ=$(curl -sf -o /dev/null -w '%header{location}' -X POST "$ROLEGATE_URL/api/v1/requests" \
  -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' -H 'Idempotency-Key: walkthrough-1' \
  -d '{"name": "nightly-report", "justification": "the nightly report job reads it",
       "buckets": [{"bucket": "example-bucket", "prefix": "reports/", "access": "read"}]}')
echo "submitted $REQ"
curl -sf -X POST "$ROLEGATE_URL$REQ/approve" -H "Authorization: Bearer $BOB" \
  -H 'Content-Type: application/json' -d '{"comment": "read-only, fine"}' > /dev/null
until curl -sf "$ROLEGATE_URL$REQ" -H "Authorization: Bearer $ALICE" | grep -q '"status":"active"'; do sleep 1; done
curl -sf "$ROLEGATE_URL$REQ/terraform" -H "Authorization: Bearer $ALICE" > nightly-report.tf
`

// TestAPIWalkthrough runs the README's walk-through against the real
// `serve` (with its worker, against the local IAM endpoint): tokens from
// the command line, submit, approve with a second token, poll until
// active, fetch the Terraform. Not parallel: the AWS SDK reads the process
// environment.
func TestAPIWalkthrough(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if readme, err := os.ReadFile("../../README.md"); err == nil && strings.Contains(string(readme), "api-walkthrough") &&
		!strings.Contains(string(readme), apiWalkthrough) {
		t.Fatal("README.md's API walk-through differs from the one this test runs; keep them equal")
	}
	_, iamURL := iamlocaltest.Start(t, iamlocal.Options{})
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_IAM": iamURL, "AWS_ACCESS_KEY_ID": "local",
		"AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
	dbURL := storetest.EmptyURL(t)
	base, _, _, _ := startServe(t, dbURL)

	alice, err := tokenCLI(t, dbURL, "create", "--user", "alice", "--role", "requester", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := tokenCLI(t, dbURL, "create", "--user", "bob", "--role", "approver", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-c", apiWalkthrough)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ROLEGATE_URL="+base, "ALICE="+lastLine(alice), "BOB="+lastLine(bob))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through: %v\n%s", err, out)
	}
	tf, err := os.ReadFile(dir + "/nightly-report.tf")
	if err != nil || !strings.Contains(string(tf), `resource "aws_iam_role" "nightly_report"`) && !strings.Contains(string(tf), `resource "aws_iam_role"`) {
		t.Fatalf("Terraform: %v\n%s", err, tf)
	}
	db := storetest.Open(t, dbURL, store.Options{})
	page, err := db.ListActiveRoles(context.Background(), "", 10)
	if err != nil || len(page.Requests) != 1 || page.Requests[0].RoleARN == "" {
		t.Fatalf("active roles: %+v, %v", page, err)
	}
}
