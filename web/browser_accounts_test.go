package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/auth"
)

// TestBrowserRequestIntoSecondAccount: with two accounts configured,
// alice chooses the second on the form, sees the preview in it and
// submits; the request page names the account and the role's ARN carries
// its ID, and bob's dashboard shows the account and filters by it.
func TestBrowserRequestIntoSecondAccount(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	set := storetest.TwoAccounts()
	f := uiServe(t, storetest.Open(t, storetest.URL(t), store.Options{Settings: &set}), auth.Identity{DevUsers: true})
	run, text, shot, css := b.run, b.text, b.shot, b.css

	run("alice fills the form in prod",
		chromedp.Navigate(f.srv.URL+"/signin"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Sign in as alice")]`)),
		chromedp.WaitVisible(css(`[data-user="alice"]`)),
		chromedp.Navigate(f.srv.URL+"/requests/new"),
		chromedp.WaitVisible(css(`#f-account`)),
		chromedp.SetValue(css(`#f-account`), "prod"),
		chromedp.SendKeys(css(`#f-name`), "prod-reader"),
		chromedp.SendKeys(css(`#f-justification`), "The prod report job reads these."),
		chromedp.SendKeys(css(`#f-bucket-0`), "team-reports"),
		chromedp.WaitVisible(css(`[data-testid="preview-account"]`)),
		shot("accounts-1-form"),
	)
	if got := text(`[data-testid="preview-account"]`); got != "prod" {
		t.Fatalf("preview account %q, want prod", got)
	}

	run("alice submits", chromedp.Click(css(`#submit`)), chromedp.WaitVisible(css(`.flash-ok`)), shot("accounts-2-request"))
	if got := text(`[data-testid="account"]`); got != "prod (222222222222)" {
		t.Fatalf("request page account %q", got)
	}
	if got := strings.Join(strings.Fields(text(`#planned-arn`)), ""); got != "arn:aws:iam::222222222222:role/rolegate/prod-reader" {
		t.Fatalf("request page ARN %q, want it in prod's account", got)
	}
	page, err := f.db.ListRequests(uiCtx(t), store.ListFilter{Account: "prod"})
	if err != nil || len(page.Requests) != 1 {
		t.Fatalf("stored in prod: %+v, %v", page.Requests, err)
	}
	id := page.Requests[0].ID

	run("bob filters the dashboard by prod",
		chromedp.SetValue(css(`#switch-user`), "bob"),
		chromedp.Click(css(`.switcher button`)),
		chromedp.WaitVisible(css(`[data-user="bob"]`)),
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(css(`#flt-account`)),
		chromedp.SetValue(css(`#flt-account`), "prod"),
		chromedp.Click(css(`form.filters button[type="submit"]`)),
		chromedp.WaitReady(css(`#flt-account option[value="prod"][selected]`)),
		chromedp.WaitVisible(css(fmt.Sprintf(`[data-id="%d"]`, id))),
		shot("accounts-3-dashboard"),
	)
	if got := text(fmt.Sprintf(`[data-id="%d"] [data-testid="account"]`, id)); got != "prod" {
		t.Fatalf("dashboard account %q", got)
	}
}
