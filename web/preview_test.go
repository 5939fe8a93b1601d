package web

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/web/api"
)

// TestPreviewSaysNameTaken: the live preview says a role name is held by
// another pending or live request, in any case, but not on the change form
// of the request that holds it.
func TestPreviewSaysNameTaken(t *testing.T) {
	f := uiProxyTest(t)
	held := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-reader", "alice")))
	alice := f.client("alice", "")
	alice.get("/requests/new")
	form := url.Values{"name": {"Reports-Reader"}, "bucket": {"team-reports"}, "access": {"read"}}
	pv := alice.post("/requests/preview", form)
	pageHas(t, pv, "Role name", api.NameTakenMessage)
	pageLacks(t, pv, "sts:AssumeRole")

	form.Set("change_of", strconv.FormatInt(held.ID, 10))
	pv = alice.post("/requests/preview", form)
	pageHas(t, pv, "sts:AssumeRole")
	pageLacks(t, pv, api.NameTakenMessage)

	// The change form carries its request to the preview.
	pageHas(t, alice.get("/requests/"+strconv.FormatInt(held.ID, 10)+"/change"),
		`name="change_of" value="`+strconv.FormatInt(held.ID, 10)+`"`)

	// A free name previews the plan.
	pv = alice.post("/requests/preview", url.Values{"name": {"other-reader"}, "bucket": {"team-reports"}, "access": {string(provision.AccessRead)}})
	pageHas(t, pv, "sts:AssumeRole")
}
