package store_test

import (
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestPolicyDiffShowsWhatAChangeGrants(t *testing.T) {
	t.Parallel()
	old := provision.RoleSpec{Name: "r", Buckets: []provision.BucketScope{{Bucket: "alpha", Access: provision.AccessRead}}}
	escalated := old
	escalated.Buckets = []provision.BucketScope{{Bucket: "alpha", Access: provision.AccessReadWrite}}
	lines := store.PolicyDiff(old, escalated, provision.DefaultSettings())
	joined := strings.Join(lines, "\n")
	for _, want := range []string{`+ "s3:PutObject"`, `+ "s3:DeleteObject"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("policy diff lacks %s:\n%s", want, joined)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "+ ") && !strings.HasPrefix(l, "- ") {
			t.Errorf("line %q is neither added nor removed", l)
		}
	}
	if same := store.PolicyDiff(old, old, provision.DefaultSettings()); len(same) != 0 {
		t.Fatalf("identical specs differ: %v", same)
	}
	bad := old
	bad.Buckets = []provision.BucketScope{{Bucket: "*", Access: provision.AccessRead}}
	if got := store.PolicyDiff(old, bad, provision.DefaultSettings()); got != nil {
		t.Fatalf("an invalid spec produced a diff: %v", got)
	}
}
