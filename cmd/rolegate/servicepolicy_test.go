package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// printedStatement is what the tests read of a printed statement.
type printedStatement struct {
	Effect    string
	Principal map[string]string
	Action    []string
	Resource  []string
	Condition map[string]map[string][]string
}

// policyOf decodes one printed policy document, failing on anything that
// is not one (trailing text included).
func policyOf(t *testing.T, out string) (doc struct {
	Version   string
	Statement []printedStatement
}) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&doc); err != nil || dec.More() || doc.Version != "2012-10-17" {
		t.Fatalf("not one policy document (%v):\n%s", err, out)
	}
	return doc
}

const hubRole = "arn:aws:iam::111111111111:role/rolegate"

// --hub: sts:AssumeRole on exactly the configured provisioner roles, and
// the IAM permissions of the account rolegate reaches itself.
func TestServicePolicyHub(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ROLEGATE_ACCOUNTS_FILE": writeAccounts(t, "accounts.yaml", twoAccountsYAML)}
	out, _, err := runCmd(t, env, "service-policy", "--hub")
	if err != nil {
		t.Fatal(err)
	}
	var assume [][]string
	for _, st := range policyOf(t, out).Statement {
		if slices.Contains(st.Action, "sts:AssumeRole") {
			assume = append(assume, st.Resource)
		}
		for _, r := range st.Resource {
			if r != "*" && !strings.Contains(r, ":111111111111:") && r != "arn:aws:iam::222222222222:role/rolegate-provisioner" {
				t.Errorf("a resource beyond the dev account and prod's provisioner role: %s", r)
			}
		}
	}
	if want := [][]string{{"arn:aws:iam::222222222222:role/rolegate-provisioner"}}; !slices.EqualFunc(assume, want, slices.Equal) {
		t.Errorf("sts:AssumeRole on %v, want %v", assume, want)
	}
	if !strings.Contains(out, `"arn:aws:iam::111111111111:role/rolegate/*"`) {
		t.Errorf("no IAM permissions in dev, the account of rolegate's own credentials:\n%s", out)
	}
	tf, _, err := runCmd(t, env, "service-policy", "--hub", "--format", "terraform")
	if err != nil || !strings.Contains(tf, `resource "aws_iam_policy" "rolegate-hub"`) || !strings.Contains(tf, `"sts:AssumeRole"`) {
		t.Errorf("--hub --format terraform: %v\n%s", err, tf)
	}
	if _, _, err := runCmd(t, nil, "service-policy", "--hub"); err == nil || !strings.Contains(err.Error(), "no account has a role_arn") {
		t.Errorf("--hub without accounts: %v", err)
	}
}

// --spoke: the provisioner role's permission policy for the account's
// settings and a trust policy admitting the hub, with the external ID
// condition only when one is given.
func TestServicePolicySpoke(t *testing.T) {
	t.Parallel()
	staging := "  - name: staging\n    id: \"333333333333\"\n    role_arn: arn:aws:iam::333333333333:role/rolegate-provisioner\n"
	env := map[string]string{"ROLEGATE_ACCOUNTS_FILE": writeAccounts(t, "accounts.yaml", twoAccountsYAML+staging)}
	// The hub has no provisioner role: refused; with no --account, the
	// first spoke.
	if _, _, err := runCmd(t, env, "service-policy", "--spoke", "--hub-principal", hubRole, "--account", "dev"); err == nil ||
		!strings.Contains(err.Error(), "account dev has no role_arn: it is the hub") {
		t.Errorf("--spoke --account dev: %v", err)
	}
	if out, _, err := runCmd(t, env, "service-policy", "--spoke", "--hub-principal", hubRole); err != nil || !strings.Contains(out, "of account prod") {
		t.Errorf("--spoke without --account: %v\n%s", err, out)
	}
	trustOf := func(args ...string) (principal string, cond map[string]map[string][]string) {
		t.Helper()
		out, _, err := runCmd(t, env, append([]string{"service-policy", "--spoke", "--hub-principal", hubRole, "--only", "trust-policy"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		doc := policyOf(t, out)
		if len(doc.Statement) != 1 || !slices.Equal(doc.Statement[0].Action, []string{"sts:AssumeRole"}) || doc.Statement[0].Effect != "Allow" {
			t.Fatalf("trust policy:\n%s", out)
		}
		return doc.Statement[0].Principal["AWS"], doc.Statement[0].Condition
	}
	if p, cond := trustOf("--account", "staging"); p != hubRole || cond != nil {
		t.Errorf("no external ID: principal %s, condition %v", p, cond)
	}
	if _, cond := trustOf("--account", "staging", "--external-id", "given-x"); !slices.Equal(cond["StringEquals"]["sts:ExternalId"], []string{"given-x"}) {
		t.Errorf("--external-id given-x: condition %v", cond)
	}
	// prod's accounts file entry has one: the trust policy asks for it.
	if _, cond := trustOf("--account", "prod"); !slices.Equal(cond["StringEquals"]["sts:ExternalId"], []string{"rolegate-prod"}) {
		t.Errorf("prod: condition %v", cond)
	}

	out, _, err := runCmd(t, env, "service-policy", "--spoke", "--hub-principal", hubRole, "--account", "prod", "--only", "policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range policyOf(t, out).Statement {
		for _, r := range st.Resource {
			if r != "*" && !strings.HasPrefix(r, "arn:aws:iam::222222222222:") {
				t.Errorf("prod's provisioner may act beyond prod: %s", r)
			}
		}
	}
	both, _, err := runCmd(t, env, "service-policy", "--spoke", "--hub-principal", hubRole, "--account", "prod")
	if err != nil || !strings.Contains(both, "# Provisioner role /rolegate-provisioner of account prod: trust policy\n{") ||
		!strings.Contains(both, "\n# Permission policy (inline)\n{") {
		t.Errorf("--spoke prints both: %v\n%s", err, both)
	}
	tf, _, err := runCmd(t, env, "service-policy", "--spoke", "--hub-principal", hubRole, "--account", "prod", "--format", "terraform")
	if err != nil || !strings.Contains(tf, `resource "aws_iam_role" "rolegate-provisioner"`) || !strings.Contains(tf, `resource "aws_iam_role_policy" "rolegate-provisioner"`) ||
		!strings.Contains(tf, `AWS = "`+hubRole+`"`) {
		t.Errorf("--spoke --format terraform: %v\n%s", err, tf)
	}
}

// Wrong flags fail with one clear line before anything is printed.
func TestServicePolicyFlagFaults(t *testing.T) {
	t.Parallel()
	accounts := writeAccounts(t, "accounts.yaml", twoAccountsYAML)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--hub", "--spoke"}, "exclude each other"},
		{[]string{"--spoke"}, "--spoke needs --hub-principal"},
		{[]string{"--hub", "--hub-principal", hubRole}, "use them with --spoke"},
		{[]string{"--external-id", "x1"}, "use them with --spoke"},
		{[]string{"--spoke", "--hub-principal", "arn:aws:sts::111111111111:assumed-role/rolegate/s"}, "IAM ARN of the role, user or account root"},
		{[]string{"--spoke", "--hub-principal", "rolegate"}, "IAM ARN of the role, user or account root"},
		{[]string{"--spoke", "--hub-principal", hubRole, "--account", "prod", "--external-id", "other"}, "differs from the one the accounts file gives"},
		{[]string{"--spoke", "--hub-principal", hubRole, "--account", "staging"}, `unknown account "staging"`},
		{[]string{"--spoke", "--hub-principal", hubRole, "--only", "policy", "--format", "terraform"}, "--only prints one policy as JSON"},
		{[]string{"--format", "yaml"}, "--format must be json or terraform"},
		{[]string{"--hub", "--account", "prod"}, "--hub covers them all"},
	} {
		out, _, err := runCmd(t, nil, append([]string{"service-policy", "--accounts-file", accounts}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || out != "" {
			t.Errorf("%v: err %v, want one line with %q (printed %q)", tc.args, err, tc.want, out)
		}
	}
}
