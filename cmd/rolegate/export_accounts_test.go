package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// export-terraform over two accounts: providers.tf configures the alias
// of the assumed account, the role in it names that alias in every block,
// the role of the hub account names none, and the directory is a module
// Terraform accepts.
func TestExportTerraformTwoAccounts(t *testing.T) {
	t.Parallel()
	file := writeAccounts(t, "accounts.yaml", twoAccountsYAML)
	accounts, err := loadAccounts(file)
	if err != nil {
		t.Fatal(err)
	}
	set := provision.DefaultSettings()
	set.Accounts = accounts
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{Settings: &set})
	scope := []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}
	hub := activateSpecForExport(t, db, provision.RoleSpec{Name: "hub-reader", Account: "dev", Buckets: scope})
	prod := activateSpecForExport(t, db, provision.RoleSpec{Name: "reader", Account: "prod", Buckets: scope})

	dir := filepath.Join(t.TempDir(), "export")
	env := map[string]string{"DATABASE_URL": dbURL, "ROLEGATE_ACCOUNTS_FILE": file}
	out, _, err := runCmd(t, env, "export-terraform", "--dir", dir)
	if err != nil {
		t.Fatalf("export-terraform: %v\n%s", err, out)
	}
	if !strings.Contains(out, "wrote 2 role(s) and versions.tf and providers.tf") {
		t.Errorf("export says %q", out)
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want, err := provision.TerraformProviders(accounts)
	if err != nil {
		t.Fatal(err)
	}
	if got := read("providers.tf"); got != string(want) || !strings.Contains(got, `alias               = "prod"`) {
		t.Errorf("providers.tf:\n%s", got)
	}
	prodTF := read(roleFileName(prod.ID, "reader"))
	refs := providerRefRe.FindAllStringSubmatch(prodTF, -1)
	if len(refs) != 10 || strings.Count(prodTF, "= aws.") != 10 || !strings.Contains(prodTF, `name        = "prod-reader"`) {
		t.Errorf("the prod role names a provider in %d blocks, want its 5 resources and 5 imports:\n%s", len(refs), prodTF)
	}
	for _, r := range refs {
		if r[1] != "prod" {
			t.Errorf("the prod role names aws.%s", r[1])
		}
	}
	if hubTF := read(roleFileName(hub.ID, "hub-reader")); strings.Contains(hubTF, "provider") {
		t.Errorf("the hub account's role names a provider:\n%s", hubTF)
	}
	terraformValidate(t, dir)

	// An account whose role's Terraform names an alias the accounts file
	// no longer configures is refused before anything is written.
	devOnly := writeAccounts(t, "dev.yaml", "accounts:\n  - name: dev\n    id: \"111111111111\"\n  - name: prod\n    id: \"222222222222\"\n")
	again := filepath.Join(t.TempDir(), "again")
	_, _, err = runCmd(t, map[string]string{"DATABASE_URL": dbURL, "ROLEGATE_ACCOUNTS_FILE": devOnly}, "export-terraform", "--dir", again)
	if err == nil || !strings.Contains(err.Error(), "aws.prod") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("export with prod no longer assumed: %v", err)
	}
	if left, _ := os.ReadDir(again); len(left) != 0 {
		t.Errorf("the refused export wrote %d file(s)", len(left))
	}
}

// terraformValidate runs `terraform init` and `terraform validate` in dir
// when the terraform binary is installed and ROLEGATE_TEST_TERRAFORM_PLUGIN_DIR
// names a directory holding the hashicorp/aws provider (Terraform cannot
// download it here); otherwise it skips, saying which is missing.
func terraformValidate(t *testing.T, dir string) {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed: terraform validate not run")
	}
	plugins := os.Getenv("ROLEGATE_TEST_TERRAFORM_PLUGIN_DIR")
	if plugins == "" {
		t.Skip("ROLEGATE_TEST_TERRAFORM_PLUGIN_DIR is not set: terraform validate not run (it needs the hashicorp/aws provider)")
	}
	tfenv := append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(t.TempDir(), "none.tfrc"), "CHECKPOINT_DISABLE=1",
		"TF_DATA_DIR="+filepath.Join(t.TempDir(), "tfdata"))
	for _, args := range [][]string{
		{"init", "-input=false", "-no-color", "-backend=false", "-plugin-dir=" + plugins},
		{"validate", "-no-color"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, tfenv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}
}
