package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// uiAccounts serves the pages over a store with two accounts, dev (the
// default) and prod.
func uiAccounts(t *testing.T) *uiFixture {
	t.Helper()
	set := storetest.TwoAccounts()
	return uiServe(t, storetest.Open(t, storetest.URL(t), store.Options{Settings: &set}), uiProxyIdentity())
}

// accountForm is a valid new-request form into account.
func accountForm(name, account string) url.Values {
	return url.Values{"name": {name}, "account": {account}, "justification": {"the nightly job"},
		"bucket": {"team-reports"}, "prefix": {""}, "access": {"read"}, "op": {"submit"}}
}

func TestPagesShowTheAccount(t *testing.T) {
	t.Parallel()
	f := uiAccounts(t)
	alice, bob := f.client("alice", ""), f.client("bob", "approvers")

	form := alice.get("/requests/new")
	pageHas(t, form, `<select id="f-account" name="account"`, `<option value="dev" selected>dev (111111111111)</option>`,
		`<option value="prod">prod (222222222222)</option>`)

	// A preview in prod predicts prod's ARN.
	pv := alice.post("/requests/preview", accountForm("nightly", "prod"))
	pageHas(t, pv, `data-testid="preview-account">prod<`)
	textHas(t, pv, "arn:aws:iam::222222222222:role/rolegate/nightly")

	// An unknown account is answered at the field, and the choice kept.
	bad := alice.post("/requests/new", accountForm("nightly", "staging"))
	if bad.status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown account: %d", bad.status)
	}
	pageHas(t, bad, `href="#f-account">Account: there is no account named &#34;staging&#34;`, `id="f-account-error"`)
	other := accountForm("nightly", "prod")
	other["justification"] = []string{""}
	kept := alice.post("/requests/new", other)
	pageHas(t, kept, `<option value="prod" selected>`)

	page := alice.follow("/requests/new", accountForm("nightly", "prod"))
	pageHas(t, page, `data-testid="account">prod (222222222222)<`, `id="planned-arn"`)
	textHas(t, page, "arn:aws:iam::222222222222:role/rolegate/nightly")
	// Taken in prod, and said so.
	again := alice.post("/requests/new", accountForm("nightly", "prod"))
	if again.status != http.StatusUnprocessableEntity {
		t.Fatalf("the same name again in prod: %d", again.status)
	}
	pageHas(t, again, "already requested or live in account prod")
	// The same name is free in dev.
	alice.follow("/requests/new", accountForm("nightly", "dev"))

	dash := bob.get("/dashboard?account=prod")
	pageHas(t, dash, `<option value="prod" selected>prod</option>`, `data-testid="account">prod<`)
	if n := strings.Count(dash.body, `class="queue-item"`); n != 1 {
		t.Fatalf("dashboard filtered to prod lists %d requests, want 1", n)
	}
	if n := strings.Count(bob.get("/dashboard").body, `class="queue-item"`); n != 2 {
		t.Fatalf("dashboard lists %d requests, want 2", n)
	}
	if r := bob.get("/dashboard?account=staging"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "the accounts are dev, prod") {
		t.Fatalf("unknown account filter: %d\n%s", r.status, pageExcerpt(r.body))
	}

	audit := f.client("carol", "admins").get("/audit?kind=request.submitted")
	pageHas(t, audit, "account: prod", "account: dev")
	// Every event of a request names its account beside the request,
	// whatever its data carries.
	pageHas(t, audit, `data-testid="event-account">prod<`, `data-testid="event-account">dev<`)
}

func TestRolesPageShowsTheAccount(t *testing.T) {
	t.Parallel()
	f := uiAccounts(t)
	in := uiNewReq("prod-reader", "alice")
	in.Spec.Account = "prod"
	uiActivate(t, f.db, uiCreate(t, f.db, in))
	roles := f.client("erin", "").get("/roles")
	pageHas(t, roles, `<th scope="col">Account</th>`, `data-testid="account">prod<`)
}

// With one account the pages look as they did: no chooser, no column.
func TestPagesWithOneAccountNameNone(t *testing.T) {
	t.Parallel()
	f := uiSetup(t, uiProxyIdentity())
	alice := f.client("alice", "")
	pageLacks(t, alice.get("/requests/new"), `id="f-account"`)
	page := alice.follow("/requests/new", accountForm("solo", ""))
	pageLacks(t, page, `data-testid="account"`)
	pageLacks(t, f.client("bob", "approvers").get("/dashboard"), `id="flt-account"`, `data-testid="account"`)
}

// A change form whose account was tampered with is refused at the field,
// and shown again with the role's own account: the field cannot change.
func TestChangeFormRefusedKeepsTheRolesAccount(t *testing.T) {
	t.Parallel()
	f := uiAccounts(t)
	in := uiNewReq("prod-reader", "alice")
	in.Spec.Account = "prod"
	live := uiActivate(t, f.db, uiCreate(t, f.db, in))
	alice := f.client("alice", "")
	change := pathf("/requests/%d/change", live.ID)
	pageHas(t, alice.get(change), `<input type="hidden" name="account" value="prod">`)

	for _, tt := range []struct{ account, message string }{
		{"dev", "a role cannot move to another account (it is in prod); file a new request there"},
		{"staging", "there is no account named &#34;staging&#34;"},
	} {
		form := accountForm("prod-reader", tt.account)
		r := alice.post(change, form)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("a change moved to %s: %d", tt.account, r.status)
		}
		pageHas(t, r, `id="f-account-error"`, tt.message,
			`<input type="hidden" name="account" value="prod">`, `<input id="f-account" value="prod" readonly`)
		pageLacks(t, r, `value="`+tt.account+`"`)
	}
	if got, err := f.db.GetRequest(uiCtx(t), live.ID); err != nil || got.Status != store.StatusActive || got.Version != live.Version {
		t.Fatalf("after the refused changes: %+v, %v", got, err)
	}
}
