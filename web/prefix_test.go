package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// A live role keeps the name it has in IAM when the name prefix changes,
// so its page judges a change under that name: a name that would be too
// long under the new prefix still gets its plan, its assessment and the
// policy diff against the live version.
func TestChangePageKeepsTheLiveNameUnderANewPrefix(t *testing.T) {
	url := storetest.URL(t)
	db := storetest.Open(t, url, store.Options{})
	name := strings.Repeat("n", 62)
	r := uiActivate(t, db, uiCreate(t, db, uiNewReq(name, "alice")))
	set := provision.DefaultSettings()
	set.NamePrefix = "team-"
	renamed := storetest.Open(t, url, store.Options{Settings: &set})
	spec := r.Spec
	spec.Buckets = []provision.BucketScope{{Bucket: "team-reports", Prefix: "daily/eu/", Access: provision.AccessRead}}
	if _, err := renamed.RequestChange(uiCtx(t), store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, r.ID,
		store.NewVersion{Spec: spec, Justification: "only the EU reports"}); err != nil {
		t.Fatalf("change under the new prefix: %v", err)
	}
	f := uiServe(t, renamed, uiProxyIdentity())
	page := f.client("bob", "approvers").get(fmt.Sprintf("/requests/%d", r.ID))
	pageHas(t, page, `data-testid="no-new-access"`, "Policy diff against the live version", "daily/eu/")
	if strings.Contains(page.body, "cannot be rendered") {
		t.Errorf("the page says the change cannot be planned:\n%s", pageExcerpt(page.body))
	}
}
