package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

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

// The command line refuses a description the free-text rule refuses, and
// lists one stored before the rule without sending its controls to the
// terminal, on one row.
func TestTokenDescriptionsOnTheTerminal(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	_, err := tokenCLI(t, dbURL, "create", "--user", "bob", "--description", "ci \x1b]0;owned\x07")
	if err == nil || !strings.Contains(err.Error(), "the description contains 2 invisible control characters, the first (U+001B, escape) at character 4; remove them") {
		t.Fatalf("create with escapes: %v", err)
	}
	if _, err := tokenCLI(t, dbURL, "create", "--user", "bob", "--description", "deploy"); err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t, dbURL, store.Options{})
	if _, err := db.Pool().Exec(context.Background(), `UPDATE api_tokens SET description = $1`, "ci \x1b[2J\u202e\nwiped"); err != nil {
		t.Fatal(err)
	}
	list, err := tokenCLI(t, dbURL, "list")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(list, "\x1b\u202e") || !strings.Contains(list, "ci [U+001B escape][2J[U+202E right-to-left override] wiped") ||
		strings.Count(list, "\n") != 2 {
		t.Fatalf("list:\n%q", list)
	}
}

// walkthroughBlocks returns the shell blocks of README.md's walk-through,
// each one announced by a walkthrough marker comment.
func walkthroughBlocks(t *testing.T, readme string) []string {
	t.Helper()
	var blocks []string
	for _, part := range strings.Split(readme, "<!-- walkthrough:")[1:] {
		_, rest, ok := strings.Cut(part, "-->\n```sh\n")
		block, _, closed := strings.Cut(rest, "```\n")
		if !ok || !closed {
			t.Fatalf("a walkthrough marker in README.md is not followed by a sh block:\n%.200s", part)
		}
		blocks = append(blocks, block)
	}
	if len(blocks) != 2 {
		t.Fatalf("README.md has %d walkthrough blocks, want 2 (tokens, then curl)", len(blocks))
	}
	return blocks
}

// TestAPIWalkthrough runs README.md's walk-through verbatim, as a newcomer
// would in a second terminal: `rolegate dev` (its private cluster, its
// worker, the local IAM endpoint) runs; `rolegate token create` finds its
// database with no DATABASE_URL; then submit, approve with a second token,
// wait until active and fetch the Terraform with curl.
func TestAPIWalkthrough(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "curl", "grep", "cut", "seq", "tail", "head"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughBlocks(t, string(readme))

	// The compose example names the URL compose.yaml really defines.
	compose, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*DATABASE_URL:\s*(\S+)\s*$`).FindSubmatch(compose)
	if m == nil {
		t.Fatal("compose.yaml defines no DATABASE_URL")
	}
	if !strings.Contains(string(readme), "DATABASE_URL="+string(m[1])) {
		t.Errorf("README.md's compose example does not use compose.yaml's DATABASE_URL %s", m[1])
	}

	out, dir, d, _ := runWalkthrough(t, blocks, nil)
	if !regexp.MustCompile(`request /api/v1/requests/\d+: active \(details: ` + regexp.QuoteMeta(d.base) + `/requests/\d+\)`).MatchString(out) {
		t.Fatalf("the walk-through did not report the request active:\n%s", out)
	}
	tf, err := os.ReadFile(filepath.Join(dir, "nightly-report.tf"))
	if err != nil || !strings.Contains(string(tf), `resource "aws_iam_role"`) {
		t.Fatalf("Terraform: %v\n%s", err, tf)
	}
	d.stop()
}

// runWalkthrough starts `rolegate dev` with devEnv added to a fresh
// environment and runs the walk-through blocks in a second process with
// the same data directory and no DATABASE_URL. It returns their output,
// the directory they ran in, dev, and how long they took.
func runWalkthrough(t *testing.T, blocks []string, devEnv []string) (string, string, *devProcess, time.Duration) {
	t.Helper()
	bin := buildBinary(t)
	dataDir := filepath.Join(openTempDir(t, "rolegate-walkthrough-"), "data")
	env := []string{"HOME=" + t.TempDir(), "ROLEGATE_DATA_DIR=" + dataDir}
	d := startDev(t, bin, append(env, devEnv...), nil)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-c", strings.Join(blocks, "\n"))
	cmd.Dir = dir
	// No DATABASE_URL: the token commands find the dev cluster by the
	// data directory. The binary is on PATH as `make build` leaves it.
	cmd.Env = append([]string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH"), "ROLEGATE_URL=" + d.base}, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through: %v\n%s\ndev:\n%s", err, out, d.out)
	}
	return string(out), dir, d, time.Since(start)
}

// The walk-through's wait ends as soon as provisioning fails, and says
// so: here the role's name is taken in IAM by a role rolegate does not
// own, a permanent error.
func TestAPIWalkthroughReportsAFailedRequest(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughBlocks(t, string(readme))
	_, iamURL := iamlocaltest.Start(t, iamlocal.Options{})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := iamlocaltest.Client(t, iamURL).CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String("nightly-report"), Path: aws.String("/"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	out, _, d, took := runWalkthrough(t, blocks, []string{"AWS_ENDPOINT_URL_IAM=" + iamURL, "AWS_ENDPOINT_URL_STS=" + iamURL,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=us-east-1"})
	if !regexp.MustCompile(`request /api/v1/requests/\d+: failed \(details: ` + regexp.QuoteMeta(d.base) + `/requests/\d+\)`).MatchString(out) {
		t.Fatalf("the walk-through did not report the request failed:\n%s", out)
	}
	if took > 45*time.Second {
		t.Fatalf("the walk-through took %s: it waited out its minute instead of stopping at the failure", took)
	}
	d.stop()
}

// Every one-shot command, with no DATABASE_URL and no dev running with
// its data directory, says both ways to give it a database.
func TestOneShotCommandsWithoutDatabaseSayHow(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	env := func(k string) string { return map[string]string{"ROLEGATE_DATA_DIR": dataDir}[k] }
	for _, args := range [][]string{
		{"token", "list"}, {"token", "create", "--user", "alice"}, {"token", "revoke", "1"},
		{"migrate", "status"}, {"audit", "verify"}, {"drift"}, {"export-terraform", "--dir", t.TempDir()},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"rolegate"}, args...), env, &out, &errOut)
		if err == nil {
			t.Errorf("%v succeeded with no database", args)
			continue
		}
		for _, want := range []string{"DATABASE_URL: not set", "no `rolegate dev` is running with data directory " + dataDir, "start `rolegate dev`"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: %q does not say %q", args, err, want)
			}
		}
	}
}

// A one-shot command beside a `rolegate dev` that runs on a DATABASE_URL
// of its own (no private cluster to find) says so, and to set the same
// URL: it said that no dev was running. A dev that has not served yet is
// still starting; a lock file left by a dev that ended says nothing.
func TestOneShotCommandsBesideADevOnItsOwnDatabase(t *testing.T) {
	t.Parallel()
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	for _, tc := range []struct {
		lock string
		want []string
	}{
		{fmt.Sprintf("%d http://127.0.0.1:18999\n", pid), []string{
			fmt.Sprintf("the `rolegate dev` running with data directory %%s (pid %d, serving http://127.0.0.1:18999) has no private cluster that answers", pid),
			"set the same DATABASE_URL here"}},
		{fmt.Sprintf("%d\n", pid), []string{fmt.Sprintf("the `rolegate dev` (pid %d) with data directory %%s is still starting", pid)}},
		{fmt.Sprintf("%d http://127.0.0.1:18999\n", ended.Process.Pid), []string{"no `rolegate dev` is running with data directory %s"}},
	} {
		dataDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dataDir, devLockFile), []byte(tc.lock), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := runCmd(t, map[string]string{"ROLEGATE_DATA_DIR": dataDir}, "token", "list")
		for _, want := range tc.want {
			if want = strings.ReplaceAll(want, "%s", dataDir); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("lock file %q: %v, want it to say %q", tc.lock, err, want)
			}
		}
	}
}

// An unknown --role is refused naming the flag and the roles there are;
// the store's "invalid: unknown role" named neither the flag nor, from
// the command line, where the word came from.
func TestTokenCreateUnknownRole(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	_, err := tokenCLI(t, dbURL, "create", "--user", "x", "--role", "requester", "--role", "god")
	if want := `--role: "god" is not a role (want requester, approver or admin)`; err == nil || err.Error() != want {
		t.Fatalf("create --role god: %v, want %q", err, want)
	}
}
