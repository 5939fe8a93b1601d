package provision

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// prodSpec is a role in twoAccounts' prod account, with a managed policy
// so that every kind of resource is rendered.
func prodSpec(name string) RoleSpec {
	return RoleSpec{Name: name, Account: "prod", Buckets: []BucketScope{{Bucket: "prod-data", Prefix: "in/", Access: AccessRead}},
		ManagedPolicies: []string{"AmazonSSMManagedInstanceCore"}}
}

func twoAccountsManaged() Settings {
	set := twoAccounts()
	set.AllowedManagedPolicies = []string{"AmazonSSMManagedInstanceCore"}
	return set
}

// blockProviders parses src and returns, for each resource and import
// block, the provider it names ("" for none).
func blockProviders(t *testing.T, src []byte) map[string]string {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL(src, "main.tf")
	if diags.HasErrors() {
		t.Fatalf("parse: %s\n%s", diags, src)
	}
	out := map[string]string{}
	for i, b := range f.Body.(*hclsyntax.Body).Blocks {
		key := b.Type + " " + strings.Join(b.Labels, ".")
		if b.Type == "import" {
			to := b.Body.Attributes["to"].Expr.(*hclsyntax.ScopeTraversalExpr).Traversal
			key = "import " + to.RootName() + "." + to[1].(hcl.TraverseAttr).Name
		}
		if _, dup := out[key]; dup {
			t.Fatalf("block %d: %s twice", i, key)
		}
		out[key] = ""
		if a, ok := b.Body.Attributes["provider"]; ok {
			tr := a.Expr.(*hclsyntax.ScopeTraversalExpr).Traversal
			out[key] = tr.RootName() + "." + tr[1].(hcl.TraverseAttr).Name
		}
	}
	return out
}

// Every resource and import block of a role in an assumed account names
// the account's provider alias; the Terraform still describes the plan.
func TestTerraformInAssumedAccount(t *testing.T) {
	t.Parallel()
	set := twoAccountsManaged()
	p := mustPlan(t, prodSpec("reader"), set, testMeta("REQ-prod"))
	tf := checkTerraformGolden(t, "assumed-account.tf", func() Plan { return mustPlan(t, prodSpec("reader"), set, testMeta("REQ-prod")) })
	blocks := blockProviders(t, tf)
	if len(blocks) != 12 {
		t.Errorf("%d blocks, want 6 resources and 6 imports: %v", len(blocks), blocks)
	}
	for k, prov := range blocks {
		if prov != "aws.prod" {
			t.Errorf("%s names provider %q, want aws.prod", k, prov)
		}
	}
	terraformState(t, tf, p) // the imports still target the resources
}

// A role in an account reached with rolegate's own credentials renders as
// a role of a single-account setup: byte for byte the seed golden file.
func TestTerraformInOwnAccountUnchanged(t *testing.T) {
	t.Parallel()
	g := goldenSpecs()["seed"]
	set := twoAccounts()
	set.AllowedBuckets, set.Tags, set.Installation = nil, nil, "" // as the seed's settings
	spec := g.spec
	spec.Account = "dev"
	tf, err := Terraform(mustPlan(t, spec, set, testMeta("REQ-seed")))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "seed.tf", tf)
	for k, prov := range blockProviders(t, tf) {
		if prov != "" {
			t.Errorf("%s names provider %s in the credentials' own account", k, prov)
		}
	}
}

// The same role name in the hub and in a spoke gives resources of
// different labels, so both fit in one exported module.
func TestTerraformSameNameInTwoAccounts(t *testing.T) {
	t.Parallel()
	set := twoAccountsManaged()
	set.Accounts[1].NamePrefix = nil
	set.Accounts[1].AllowedBuckets = nil
	spec := prodSpec("reader")
	spec.Buckets[0].Bucket = "team-data"
	prod, _ := Terraform(mustPlan(t, spec, set, testMeta("REQ-1")))
	spec.Account = "dev"
	hub, _ := Terraform(mustPlan(t, spec, set, testMeta("REQ-2")))
	// A hub role named like the spoke role's label does not share it.
	spec.Name = terraformRoleLabel(mustPlan(t, prodSpec("reader"), twoAccountsManaged(), testMeta("REQ-3")))
	lookalike, _ := Terraform(mustPlan(t, spec, set, testMeta("REQ-3")))
	seen := map[string]string{}
	for name, tf := range map[string][]byte{"prod": prod, "hub": hub, "lookalike": lookalike} {
		for k := range blockProviders(t, tf) {
			if prev, dup := seen[k]; dup {
				t.Errorf("%s and %s both declare %s", prev, name, k)
			}
			seen[k] = name
		}
	}
}

func TestTerraformProviders(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	staging := Account{Name: "staging", ID: "333333333333", RoleARN: "arn:aws:iam::333333333333:role/ops/rolegate-provisioner"}
	accounts := append(set.Accounts, staging)
	tf, err := TerraformProviders(accounts)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "accounts.providers.tf", tf)
	reversed := slices.Clone(accounts)
	slices.Reverse(reversed)
	if again, _ := TerraformProviders(reversed); !bytes.Equal(tf, again) {
		t.Error("the providers depend on the order of the accounts")
	}
	s := string(tf)
	for _, want := range []string{"provider \"aws\" {\n  allowed_account_ids = [\"111111111111\"]\n}", `alias               = "prod"`, `external_id  = "rolegate-prod"`,
		`role_arn     = "arn:aws:iam::333333333333:role/ops/rolegate-provisioner"`, `session_name = "rolegate-terraform"`} {
		if !strings.Contains(s, want) {
			t.Errorf("providers lack %s:\n%s", want, s)
		}
	}
	if strings.Count(s, "external_id") != 1 || strings.Contains(s, `"dev"`) {
		t.Errorf("an external ID where none is set, or an alias for the credentials' own account:\n%s", s)
	}
	t.Run("terraform fmt", func(t *testing.T) {
		t.Parallel()
		terraformFmtCheck(t, tf)
	})
	if _, err := TerraformProviders(append(accounts, staging)); err == nil {
		t.Error("two accounts of one name: no error")
	}
	if _, err := TerraformProviders([]Account{{Name: "9lives", RoleARN: staging.RoleARN}}); err == nil {
		t.Error("an alias that is no identifier: no error")
	}
	if only, err := TerraformProviders(nil); err != nil || !strings.HasSuffix(string(only), "provider \"aws\" {\n}\n") {
		t.Errorf("no account: %v\n%s", err, only)
	}
	// The credentials' own account without an ID in the file: nothing to pin.
	if only, err := TerraformProviders([]Account{{Name: "default"}}); err != nil || !strings.HasSuffix(string(only), "provider \"aws\" {\n}\n") {
		t.Errorf("hub without an ID: %v\n%s", err, only)
	}
}
