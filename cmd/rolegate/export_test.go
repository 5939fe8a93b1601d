package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// activateForExport takes a request through approval and provisioning on
// the store alone, storing the Terraform the worker would.
func activateForExport(t *testing.T, db *store.DB, name string) store.Request {
	t.Helper()
	return activateSpecForExport(t, db, provision.RoleSpec{Name: name, Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}})
}

// activateSpecForExport is activateForExport of any spec.
func activateSpecForExport(t *testing.T, db *store.DB, spec provision.RoleSpec) store.Request {
	t.Helper()
	ctx := context.Background()
	created, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "audit export", Spec: spec})
	if err != nil {
		t.Fatalf("create %s: %v", spec.Name, err)
	}
	r := created.Request
	for _, who := range []string{"bob", "dave", "carol"} {
		if r.Status != store.StatusPending {
			break
		}
		if r, err = db.Decide(ctx, store.Actor{Name: who, Roles: []store.Role{store.RoleApprover}}, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
	}
	storetest.Provision(t, db, r.ID, r.Version)
	out, err := db.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExportTerraformGivesEveryRoleItsOwnFile: a role named "versions" and
// a role named like another role's hashed label used to overwrite
// versions.tf and each other, while the count claimed every role.
func TestExportTerraformGivesEveryRoleItsOwnFile(t *testing.T) {
	t.Parallel()
	db, dbURL := openTestDB(t, store.Options{})
	names := []string{"versions", "audit.target", provision.TerraformLabel("audit.target"), "exporter"}
	want := []string{"versions.tf"}
	byFile := map[string]store.Request{}
	for _, n := range names {
		r := activateForExport(t, db, n)
		f := roleFileName(r.ID, n)
		want = append(want, f)
		byFile[f] = r
	}
	slices.Sort(want)

	env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
	dir := filepath.Join(t.TempDir(), "export")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"rolegate", "export-terraform", "--dir", dir}, env, &out, &out); err != nil {
		t.Fatalf("export-terraform: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "wrote 4 role(s) and versions.tf") {
		t.Errorf("export says %q, want 4 roles", out.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	versions, err := os.ReadFile(filepath.Join(dir, "versions.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if string(versions) != providerRequirements {
		t.Errorf("versions.tf was overwritten:\n%s", versions)
	}
	// The directory is one Terraform module: no resource may be declared
	// in two files.
	declared := map[string]string{}
	for f, r := range byFile {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"`+r.Spec.Name+`"`) {
			t.Errorf("%s does not hold role %s:\n%s", f, r.Spec.Name, b)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "resource ") {
				if prev, dup := declared[line]; dup {
					t.Errorf("%s and %s both declare %s", prev, f, line)
				}
				declared[line] = f
			}
		}
	}

	// Running again into the same directory is refused, naming the file,
	// and leaves every file as it was.
	before := map[string][]byte{}
	for _, f := range want {
		before[f], _ = os.ReadFile(filepath.Join(dir, f))
	}
	if err := os.WriteFile(filepath.Join(dir, want[1]), []byte("# edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before[want[1]] = []byte("# edited by hand\n")
	out.Reset()
	err = run(context.Background(), []string{"rolegate", "export-terraform", "--dir", dir}, env, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("second export into the same directory: err %v, want a refusal\n%s", err, out.String())
	}
	for f, b := range before {
		now, _ := os.ReadFile(filepath.Join(dir, f))
		if !bytes.Equal(now, b) {
			t.Errorf("%s changed on the refused export", f)
		}
	}
}

// TestWriteExportNeverOverwrites covers a name written twice in one run
// and a file that exists before the run.
func TestWriteExportNeverOverwrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if n, err := writeExport(dir, []exportFile{{"a.tf", []byte("1")}, {"a.tf", []byte("2")}}); err == nil || n != 0 {
		t.Fatalf("duplicate name: n %d, err %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.tf")); !os.IsNotExist(err) {
		t.Fatalf("a refused export wrote a.tf: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.tf"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := writeExport(dir, []exportFile{{"a.tf", []byte("1")}, {"b.tf", []byte("2")}}); err == nil || n != 0 {
		t.Fatalf("existing b.tf: n %d, err %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.tf")); string(b) != "mine" {
		t.Fatalf("b.tf = %q", b)
	}
	if n, err := writeExport(dir, []exportFile{{"a.tf", []byte("1")}, {"c.tf", []byte("3")}}); err != nil || n != 2 {
		t.Fatalf("fresh names: n %d, err %v", n, err)
	}
}
