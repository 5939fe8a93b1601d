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

// TestPreviewChangeOfOnlyForChangeableRole: the preview honours change_of
// only for a request the signed-in user may change. Otherwise anyone could
// learn which request holds a taken name (pending ones are on no public
// list) by naming one request after another until the warning went away.
func TestPreviewChangeOfOnlyForChangeableRole(t *testing.T) {
	f := uiProxyTest(t)
	pending := uiCreate(t, f.db, uiNewReq("hidden-reader", "alice"))
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("live-reader", "alice")))
	form := func(name string, changeOf int64) url.Values {
		v := url.Values{"name": {name}, "bucket": {"team-reports"}, "access": {"read"}}
		if changeOf != 0 {
			v.Set("change_of", strconv.FormatInt(changeOf, 10))
		}
		return v
	}
	bob := f.client("bob", "")
	admin := f.client("root", "admins")
	alice := f.client("alice", "")
	for _, tc := range []struct {
		who  *uiClient
		name string
		req  int64
	}{
		{bob, "hidden-reader", pending.ID},
		{bob, "live-reader", live.ID},
		// Admins read every request but change only their own roles.
		{admin, "hidden-reader", pending.ID},
		{admin, "live-reader", live.ID},
		// Alice's own pending request is no role to change yet: a new
		// request under its name would be refused, as the preview says.
		{alice, "hidden-reader", pending.ID},
	} {
		plain := tc.who.post("/requests/preview", form(tc.name, 0))
		pageHas(t, plain, api.NameTakenMessage)
		for _, id := range []int64{tc.req, live.ID + 1000} {
			got := tc.who.post("/requests/preview", form(tc.name, id))
			if got.status != plain.status || got.body != plain.body {
				t.Errorf("%s previewing %s with change_of=%d got %d and another panel than without change_of; got:\n%s",
					tc.who.user, tc.name, id, got.status, pageExcerpt(got.body))
			}
		}
	}

	// The owner's change form of her live role still previews the plan.
	pv := alice.post("/requests/preview", form("live-reader", live.ID))
	pageHas(t, pv, "sts:AssumeRole")
	pageLacks(t, pv, api.NameTakenMessage)
}
