package provision

import (
	"strings"
	"testing"
	"time"
)

// A plan not approved yet renders the same Terraform as once approved,
// except the header's approval lines, and claims no approval: no empty
// "Approved by:" and no "Approved at:" of the time it was rendered.
func TestTerraformBeforeApprovalClaimsNone(t *testing.T) {
	t.Parallel()
	spec := RoleSpec{Name: "reports-reader", Buckets: []BucketScope{{Bucket: "example-bucket", Access: AccessRead}}}
	approved := testMeta("42")
	pending := PlanMeta{RequestID: "42", Requester: approved.Requester}
	before, err := Terraform(mustPlan(t, spec, DefaultSettings(), pending))
	if err != nil {
		t.Fatal(err)
	}
	after, err := Terraform(mustPlan(t, spec, DefaultSettings(), approved))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(before), "Approved") {
		t.Fatalf("Terraform before approval claims one:\n%s", before)
	}
	if !strings.Contains(string(before), "# Not approved yet.\n") {
		t.Fatalf("Terraform before approval does not say so:\n%s", before)
	}
	want := strings.Replace(string(after),
		"# Approved by: bob@example.com, carol@example.com\n# Approved at: 2026-01-02T03:04:05Z\n", "# Not approved yet.\n", 1)
	if string(before) != want {
		t.Fatalf("before and after approval differ beyond the approval lines:\n%s\n---\n%s", before, after)
	}
}

// The expiry is in neither the tags nor the Terraform, whoever renders:
// it is set at activation and enforced by rolegate, not by a tag.
func TestNoExpiryInTagsOrTerraform(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(48 * time.Hour)
	spec := RoleSpec{Name: "temporary", ExpiresAt: &exp, Buckets: []BucketScope{{Bucket: "example-bucket", Access: AccessRead}}}
	p := mustPlan(t, spec, DefaultSettings(), PlanMeta{RequestID: "preview", Requester: "alice"})
	for _, tag := range append(p.Role.Tags, p.InstanceProfile.Tags...) {
		if strings.Contains(tag.Key, "expires") {
			t.Fatalf("plan tags carry the expiry: %+v", tag)
		}
	}
	tf, err := Terraform(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(tf), "xpires") {
		t.Fatalf("Terraform mentions the expiry:\n%s", tf)
	}
}
