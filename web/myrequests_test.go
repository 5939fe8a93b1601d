package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// My requests names each request's account when there are several, and
// filters by one; its pages keep the filter.
func TestMyRequestsByAccount(t *testing.T) {
	t.Parallel()
	f := uiAccounts(t)
	alice := f.client("alice", "")
	alice.follow("/requests/new", accountForm("nightly", "prod"))
	alice.follow("/requests/new", accountForm("nightly", "dev"))
	alice.follow("/requests/new", accountForm("hourly", "dev"))

	all := alice.get("/requests")
	pageHas(t, all, `<select id="flt-account" name="account">`, `<option value="" selected>any</option>`,
		`<th scope="col">Account</th>`, `data-testid="account">prod<`, `data-testid="account">dev<`)
	if n := strings.Count(all.body, `data-testid="account"`); n != 3 {
		t.Fatalf("My requests lists %d requests, want 3", n)
	}
	prod := alice.get("/requests?account=prod")
	pageHas(t, prod, `<option value="prod" selected>prod</option>`, `data-testid="account">prod<`)
	pageLacks(t, prod, `data-testid="account">dev<`)
	if n := strings.Count(prod.body, `data-testid="account"`); n != 1 {
		t.Fatalf("My requests in prod lists %d requests, want 1", n)
	}
	if r := alice.get("/requests?account=staging"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "the accounts are dev, prod") {
		t.Fatalf("unknown account: %d\n%s", r.status, pageExcerpt(r.body))
	}
	// Someone with no requests in an account is told so.
	pageHas(t, f.client("bob", "").get("/requests?account=prod"), "You have no requests in account prod.")

	// More than a page in dev: the next page keeps the account.
	for i := range pageSize {
		alice.follow("/requests/new", accountForm(fmt.Sprintf("job-%d", i), "dev"))
	}
	first := alice.get("/requests?account=dev")
	next := between(first.body, `<a href="`, `" rel="next">`)
	if !strings.HasPrefix(next, "/requests?account=dev&amp;cursor=") {
		t.Fatalf("the next page's link %q does not keep the account", next)
	}
	second := alice.get(strings.ReplaceAll(next, "&amp;", "&"))
	pageLacks(t, second, `data-testid="account">prod<`)
	if n := strings.Count(second.body, `data-testid="account">dev<`); n != 2 {
		t.Fatalf("the second page of dev lists %d requests, want 2 (52 in dev, 50 a page)", n)
	}
}
