package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// export-terraform writes every role live in IAM as its live version's
// stored Terraform, also a role whose change is waiting for approval (it
// is not "active" then, but IAM holds its live version all the same).
func TestExportTerraformWritesTheLiveVersionOfRolesWithAChangePending(t *testing.T) {
	t.Parallel()
	db, url := openTestDB(t, store.Options{})
	ctx := context.Background()
	spec := provision.RoleSpec{Name: "changing", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}
	c, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "nightly export", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Request
	if _, err := db.Decide(ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 1, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	live := storetest.Provision(t, db, r.ID, 1)
	next := spec
	next.Buckets = append(next.Buckets, provision.BucketScope{Bucket: "other-bucket", Access: provision.AccessRead})
	if _, err := db.RequestChange(ctx, store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, r.ID,
		store.NewVersion{Spec: next, Justification: "one more bucket"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var out bytes.Buffer
	env := func(k string) string { return map[string]string{"DATABASE_URL": url}[k] }
	if err := run(ctx, []string{"rolegate", "export-terraform", "--dir", dir}, env, &out, &out); err != nil {
		t.Fatalf("export-terraform: %v\n%s", err, out.String())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found = found || bytes.Equal(b, live)
	}
	if !found {
		t.Fatalf("no exported file holds the live version's Terraform (files %v; %s)", files, out.String())
	}
}
