package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// TestStartRefusesAccountsFileLackingARequestsAccount: requests filed
// without an accounts file live in "default"; an accounts file that does
// not list it stops the commands that act on roles, with one line naming
// the requests.
func TestStartRefusesAccountsFileLackingARequestsAccount(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{})
	ctx := context.Background()
	var ids []string
	for _, name := range []string{"first", "second"} {
		r, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "nightly export",
			Spec: provision.RoleSpec{Name: name, Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.FormatInt(r.ID, 10))
	}
	file := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(file, []byte("accounts:\n  - name: dev\n    id: \"111111111111\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		return map[string]string{"DATABASE_URL": dbURL, "ROLEGATE_ACCOUNTS_FILE": file}[k]
	}
	var out bytes.Buffer
	err := run(ctx, []string{"rolegate", "drift"}, env, &out, &out)
	want := `--accounts-file: requests ` + strings.Join(ids, ", ") + ` name account "default", which the accounts file does not list: name the account they live in "default" in the file`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("drift = %v\n%s\nwant %s", err, out.String(), want)
	}
}
