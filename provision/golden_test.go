package provision

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenSpecs are the representative specs of the golden files.
func goldenSpecs() map[string]struct {
	spec RoleSpec
	set  Settings
} {
	base := DefaultSettings()
	boundary := DefaultSettings()
	boundary.PermissionsBoundaryARN = "arn:aws:iam::123456789012:policy/rolegate-boundary"
	boundary.NamePrefix = "rg-"
	managed := DefaultSettings()
	managed.AllowedManagedPolicies = []string{"AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"}
	managed.Tags = map[string]string{"team": "data", "cost-center": "42"}
	// Two of them are an installation's, with its tag (a database's ID);
	// the others render as rolegate render does without one.
	boundary.Installation = "0f8f5a2e-3b1c-4d7e-9a6b-2c4d5e6f7a8b"
	managed.Installation = "0f8f5a2e-3b1c-4d7e-9a6b-2c4d5e6f7a8b"
	var many []BucketScope
	for i, b := range []string{"team-alpha", "team-beta", "team-gamma", "team-delta"} {
		many = append(many,
			BucketScope{Bucket: b, Prefix: "in/", Access: AccessRead},
			BucketScope{Bucket: b, Prefix: "out/", Access: []Access{AccessWrite, AccessReadWrite}[i%2]})
	}
	many = append(many, BucketScope{Bucket: "shared-assets", Access: AccessRead})
	return map[string]struct {
		spec RoleSpec
		set  Settings
	}{
		"seed":           {RoleSpec{Name: "example-reader", Buckets: []BucketScope{{Bucket: "example-bucket", Access: AccessRead}}}, base},
		"prefix":         {RoleSpec{Name: "logs-writer", Description: "Writes app logs", Buckets: []BucketScope{{Bucket: "team-logs", Prefix: "app/2026/", Access: AccessReadWrite}}, MaxSessionDuration: 7200}, base},
		"many-scopes":    {RoleSpec{Name: "pipeline", Buckets: many}, base},
		"boundary":       {RoleSpec{Name: "bounded", Buckets: []BucketScope{{Bucket: "team-data", Access: AccessWrite}}}, boundary},
		"managed-policy": {RoleSpec{Name: "ssm-reader", Buckets: []BucketScope{{Bucket: "team-data", Access: AccessRead}}, ManagedPolicies: []string{"CloudWatchAgentServerPolicy", "AmazonSSMManagedInstanceCore"}}, managed},
		"unicode-prefix": {RoleSpec{Name: "donnees", Description: "Données partagées", Buckets: []BucketScope{{Bucket: "team-data", Prefix: "données/日本/", Access: AccessRead}}}, base},
		"dollar-brace":   {RoleSpec{Name: "templated", Description: "not ${var.x} nor %{if}", Buckets: []BucketScope{{Bucket: "team-data", Prefix: "literal/${aws:username}/%{x}/", Access: AccessReadWrite}}}, base},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, g := range goldenSpecs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := mustPlan(t, g.spec, g.set, testMeta("REQ-"+name))
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, []byte(p.Policy.Document), "", "  "); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name+".policy.json", []byte(p.Policy.Document+"\n"))
			checkTerraformGolden(t, name+".tf", func() Plan { return mustPlan(t, g.spec, g.set, testMeta("REQ-"+name)) })
		})
	}
}

// checkTerraformGolden renders the plan plan builds, compares it with the
// golden file name, renders a second plan to check the output is
// deterministic and runs terraform fmt -check on it. It returns the
// Terraform.
func checkTerraformGolden(t *testing.T, name string, plan func() Plan) []byte {
	t.Helper()
	tf, err := Terraform(plan())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, name, tf)
	if again, _ := Terraform(plan()); !bytes.Equal(tf, again) {
		t.Error("Terraform is not deterministic")
	}
	t.Run("terraform fmt", func(t *testing.T) {
		t.Parallel()
		terraformFmtCheck(t, tf)
	})
	return tf
}

// TestSeedPolicyExact pins the seed example to the exact grants.
func TestSeedPolicyExact(t *testing.T) {
	t.Parallel()
	g := goldenSpecs()["seed"]
	p := mustPlan(t, g.spec, g.set, testMeta("REQ-seed"))
	want := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"ListBuckets","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::example-bucket"]},` +
		`{"Sid":"GetObjects","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::example-bucket/*"]}]}`
	if p.Policy.Document != want {
		t.Errorf("seed policy:\n got %s\nwant %s", p.Policy.Document, want)
	}
	if p.Role.TrustPolicy != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole"]}]}` {
		t.Errorf("trust policy = %s", p.Role.TrustPolicy)
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// terraformFmtCheck runs `terraform fmt -check` on src. It is the one check
// that needs the terraform binary; CI's machine has it, and a machine
// without it skips only this sub-test, saying why.
func terraformFmtCheck(t *testing.T, src []byte) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed: terraform fmt -check not run (hclwrite.Format output is still compared with the golden files)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "fmt", "-check", "-diff", "-no-color", dir)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "none.tfrc"), "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check found differences (%v):\n%s", err, out)
	}
	if strings.Contains(string(out), "main.tf") {
		t.Errorf("terraform fmt listed main.tf:\n%s", out)
	}
}
