package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

func writeAccounts(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const twoAccountsYAML = `accounts:
  - name: dev
    id: "111111111111"
  - name: prod
    id: 222222222222
    role_arn: arn:aws:iam::222222222222:role/rolegate-provisioner
    external_id: rolegate-prod
    name_prefix: prod-
`

// The accounts file, YAML or JSON, decides the account of the plan and
// its overrides; the first account is the default.
func TestAccountsFileRender(t *testing.T) {
	t.Parallel()
	spec := writeSpec(t, `{"name":"r","account":"prod","buckets":[{"bucket":"team-a","access":"read"}]}`)
	json := writeAccounts(t, "accounts.json", `{"accounts":[{"name":"dev","id":"111111111111"},
		{"name":"prod","id":"222222222222","role_arn":"arn:aws:iam::222222222222:role/rolegate-provisioner","name_prefix":"prod-"}]}`)
	for _, file := range []string{writeAccounts(t, "accounts.yaml", twoAccountsYAML), json} {
		out, _, err := runCmd(t, map[string]string{"ROLEGATE_ACCOUNTS_FILE": file}, "render", "--spec", spec, "--only", "terraform")
		// prod is reached through its provisioner role: the label carries
		// the account, and every block names prod's provider alias.
		if err != nil || !strings.Contains(out, `resource "aws_iam_role" "prod_prod-r_`) || !strings.Contains(out, "provider    = aws.prod\n") {
			t.Errorf("render with %s: %v\n%s", filepath.Base(file), err, out)
		}
	}
	out, _, err := runCmd(t, nil, "render", "--accounts-file", writeAccounts(t, "a.yaml", twoAccountsYAML),
		"--spec", writeSpec(t, `{"name":"r","buckets":[{"bucket":"team-a","access":"read"}]}`), "--only", "terraform")
	if err != nil || !strings.Contains(out, `resource "aws_iam_role" "r"`) {
		t.Errorf("render into the default account: %v\n%s", err, out)
	}
}

// Every fault of the accounts file is named, one line each, at start.
func TestAccountsFileFaults(t *testing.T) {
	t.Parallel()
	spec := writeSpec(t, seedSpec)
	tests := []struct {
		name, body string
		want       []string
	}{
		{"empty", "", []string{"--accounts-file ", "it is empty"}},
		{"no accounts", "accounts: []\n", []string{"lists no accounts"}},
		{"unknown key", "accounts:\n  - name: dev\n    id: \"111111111111\"\n    rol_arn: x\n", []string{"line 4: field rol_arn not found"}},
		{"not YAML", "accounts: [", []string{"--accounts-file "}},
		{"values", "accounts:\n  - name: Dev\n    id: \"1\"\n  - name: prod\n    id: \"222222222222\"\n    role_arn: arn:aws:iam::333333333333:role/p\n",
			[]string{"--accounts-file: accounts[Dev].name: account name must be", "--accounts-file: accounts[Dev].id: account ID must be 12 digits",
				"--accounts-file: accounts[prod].role_arn: role ARN arn:aws:iam::333333333333:role/p is in account 333333333333"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runCmd(t, nil, "render", "--spec", spec, "--accounts-file", writeAccounts(t, "a.yaml", tc.body))
			if err == nil {
				t.Fatal("render accepted the file")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	_, _, err := runCmd(t, nil, "render", "--spec", spec, "--accounts-file", filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "cannot read it") {
		t.Errorf("missing file: %v", err)
	}
}

// A command beside dev reaches dev's local IAM endpoint with local
// credentials, unless the environment names an endpoint itself.
func TestDevAWSReachesDevsEndpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	none := func(string) string { return "" }
	if opts, err := devAWS(dir, none); err != nil || opts != nil {
		t.Fatalf("no endpoint file: %v, %d options", err, len(opts))
	}
	if err := os.WriteFile(devIAMEndpointFile(dir), []byte("http://127.0.0.1:4566\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := devAWS(dir, none)
	if err != nil {
		t.Fatal(err)
	}
	var lo config.LoadOptions
	for _, o := range opts {
		if err := o(&lo); err != nil {
			t.Fatal(err)
		}
	}
	if lo.BaseEndpoint != "http://127.0.0.1:4566" || lo.Credentials == nil {
		t.Fatalf("options: endpoint %q, credentials %v", lo.BaseEndpoint, lo.Credentials)
	}
	named := func(k string) string { return map[string]string{"AWS_ENDPOINT_URL_IAM": "http://elsewhere"}[k] }
	if opts, err := devAWS(dir, named); err != nil || opts != nil {
		t.Fatalf("endpoint named by the environment: %v, %d options", err, len(opts))
	}
}
