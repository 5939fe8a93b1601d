package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// overflowJS lists the elements under each element matching a selector
// whose right edge passes that element's right edge, skipping what lies in
// a box that scrolls or clips (a policy, an ARN): the text a reader would
// see running out of its card, row or cell.
const overflowJS = `((sel) => { const out = [];
	for (const box of document.querySelectorAll(sel)) {
		const right = box.getBoundingClientRect().right + 1;
		const walk = (el) => { for (const c of el.childNodes) {
			if (c.nodeType === Node.TEXT_NODE) {
				const r = document.createRange(); r.selectNodeContents(c);
				if (r.getBoundingClientRect().right > right) { out.push(sel + ": " + c.data.trim().slice(0, 60)); }
			} else if (c.nodeType === Node.ELEMENT_NODE) {
				if (c.getBoundingClientRect().right > right) { out.push(sel + ": <" + c.tagName.toLowerCase() + "> " + c.textContent.trim().slice(0, 60)); }
				else if (getComputedStyle(c).overflowX === "visible") { walk(c); }
			}
		} };
		walk(box);
	}
	return out; })`

// longWordsRequest asks for a role whose name is as long as IAM allows,
// on a bucket as long as S3 allows, under a prefix naming a SHA-256, with a
// justification holding a long link.
func longWordsRequest(requester string) (name string, in store.NewRequest) {
	name = "quarterly-finance-reports-reader-analytics-" + strings.Repeat("x", 64-43)
	in = uiNewReq(name, requester,
		provision.BucketScope{Bucket: "finance-quarterly-reports-archive-eu-west-1-" + strings.Repeat("a", 63-44),
			Prefix: "artifacts/sha256/" + strings.Repeat("e3b0c44298fc1c14", 4) + "/", Access: provision.AccessReadWrite},
		provision.BucketScope{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessRead})
	in.Justification = "See https://wiki.example.com/display/FIN/" + strings.Repeat("QuarterlyReportsArchive", 8) + " for the job."
	return name, in
}

// TestBrowserLongWords: a role name as long as IAM allows, a bucket as
// long as S3 allows, a prefix naming a hash, a prefix as long as S3 allows
// and a pasted link stay inside their cards on the request page (its
// versions' scopes included) and inside their row on the dashboard, where
// they would otherwise run under the Approve and Reject buttons; the
// request page, the requester's list and the audit log stay as wide as
// the screen.
func TestBrowserLongWords(t *testing.T) {
	b, f := browserTest(t)
	_, in := longWordsRequest("alice")
	r := uiActivate(t, f.db, uiCreate(t, f.db, in))
	spec := r.Spec
	spec.Buckets = append(spec.Buckets, provision.BucketScope{Bucket: "team-exports", Prefix: strings.Repeat("p", 1023) + "/", Access: provision.AccessRead})
	if _, err := f.db.RequestChange(uiCtx(t), store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, r.ID,
		store.NewVersion{Spec: spec, Justification: in.Justification}); err != nil {
		t.Fatalf("RequestChange: %v", err)
	}
	wide := func(page string) {
		t.Helper()
		if w := eval[[]float64](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
			t.Errorf("%s is %v px wide in a window of %v", page, w[0], w[1])
		}
	}
	b.signInAs(f.srv.URL, "bob")
	b.run("bob opens the dashboard",
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(b.css(fmt.Sprintf(`[data-id="%d"]`, r.ID))),
		b.shot("longwords-1-dashboard"),
	)
	if bad := eval[[]string](b, overflowJS+`(".queue-main")`); len(bad) > 0 {
		t.Errorf("on the dashboard, out of the request's row:\n%s", strings.Join(bad, "\n"))
	}
	b.run("bob opens the request",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", f.srv.URL, r.ID)),
		chromedp.WaitVisible(b.css(`#justification`)),
		b.shot("longwords-2-detail"),
	)
	if bad := eval[[]string](b, overflowJS+`(".card")`); len(bad) > 0 {
		t.Errorf("on the request page, out of their cards:\n%s", strings.Join(bad, "\n"))
	}
	wide("the request page")
	// A long prefix does not squeeze the other columns: a short bucket
	// and an access level keep one line.
	broken := eval[[]string](b, `[...document.querySelectorAll(".scope-table td:nth-child(1), .scope-table td:nth-child(3)")].filter(td => {
		const r = document.createRange(); r.selectNodeContents(td);
		return td.textContent.trim().length <= 12 && new Set([...r.getClientRects()].map(c => Math.round(c.bottom))).size > 1; }).map(td => td.textContent.trim())`)
	if len(broken) > 0 {
		t.Errorf("in the scopes table, short values break across lines: %q", broken)
	}
	b.run("bob reads the audit log",
		chromedp.Navigate(f.srv.URL+"/audit"),
		chromedp.WaitVisible(b.css(`.table`)),
		b.shot("longwords-3-audit"),
	)
	wide("the audit log")
	b.switchUser("alice")
	b.run("alice lists her requests",
		chromedp.Navigate(f.srv.URL+"/requests"),
		chromedp.WaitVisible(b.css(`.table`)),
		b.shot("longwords-4-my-requests"),
	)
	wide("the list of alice's requests")
}

// TestBrowserPhoneWidth: on a phone 390 px wide, no page is wider than
// the screen: the request page and the form with its preview keep their
// policies and Terraform scrolling in their boxes, not the whole page.
func TestBrowserPhoneWidth(t *testing.T) {
	b, f := browserTest(t)
	r := uiCreate(t, f.db, uiNewReq("reports-reader", "alice",
		provision.BucketScope{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessRead},
		provision.BucketScope{Bucket: "team-exports", Access: provision.AccessReadWrite}))
	b.run("a phone's screen", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 1, Mobile: true})
		return err
	}))
	b.signInAs(f.srv.URL, "alice")
	wide := func(page string) {
		t.Helper()
		if w := eval[[]float64](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
			t.Errorf("%s is %v px wide on a screen of %v", page, w[0], w[1])
		}
	}
	b.run("alice opens her request",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", f.srv.URL, r.ID)),
		chromedp.WaitVisible(b.css(`#terraform`)),
		b.shot("phone-1-detail"),
	)
	wide("the request page")
	b.startRequest(f.srv.URL, "etl-reader", "The ETL job reads these.", "team-etl")
	b.run("alice sees the preview", chromedp.WaitVisible(b.css(`#pv-terraform`)), b.shot("phone-2-form"))
	wide("the form with its preview")
	b.run("alice opens her sessions",
		chromedp.Navigate(f.srv.URL+"/settings/sessions"),
		chromedp.WaitVisible(b.css(`.sessions`)),
		b.shot("phone-3-sessions"),
	)
	wide("the sessions page")
}

// TestBrowserAuditFilterProblem: a filter of the audit log that cannot be
// read is said under its field, and the row of filters stays level: every
// field and the Filter button keep one top edge.
func TestBrowserAuditFilterProblem(t *testing.T) {
	b, f := browserTest(t)
	b.signInAs(f.srv.URL, "bob")
	b.run("bob filters the audit log by a request that is not a number",
		chromedp.Navigate(f.srv.URL+"/audit?actor=alice&request=abc"),
		chromedp.WaitVisible(b.css(`#au-request-error`)),
		b.shot("audit-2-filter-problem"),
	)
	tops := eval[[]float64](b, `[...document.querySelectorAll(".filters input:not([type=hidden]), .filters button")].map(e => Math.round(e.getBoundingClientRect().top))`)
	for _, top := range tops {
		if top != tops[0] {
			t.Errorf("the tops of the audit filters and their button are %v", tops)
			break
		}
	}
}

// TestBrowserWithoutJavaScript: with scripts off, an approver approves
// from the dashboard and from the request page, and makes an API token;
// the Copy buttons, which need the script, are not shown to do nothing.
func TestBrowserWithoutJavaScript(t *testing.T) {
	b, f := browserTest(t)
	first := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	second := uiCreate(t, f.db, uiNewReq("exports-reader", "alice"))
	b.run("scripts off", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	b.signInAs(f.srv.URL, "bob")
	b.run("bob opens the dashboard", chromedp.Navigate(f.srv.URL+"/dashboard"), chromedp.WaitVisible(b.css(`.queue`)))
	if status := b.submit("bob approves from the dashboard", fmt.Sprintf(`[aria-label="Approve request %d"]`, first.ID)); status != 200 {
		t.Fatalf("approving from the dashboard ended on %d", status)
	}
	b.run("bob opens the second request", chromedp.Navigate(fmt.Sprintf("%s/requests/%d", f.srv.URL, second.ID)), chromedp.WaitVisible(b.css(`#terraform`)))
	copies := `[...document.querySelectorAll("[data-copy]")].filter(e => e.getClientRects().length > 0).length`
	if n := eval[int](b, copies); n != 0 {
		t.Errorf("the request page shows %d Copy buttons that cannot copy", n)
	}
	if status := b.submit("bob approves on the request page", `button[value="approve"]`); status != 200 {
		t.Fatalf("approving on the request page ended on %d", status)
	}
	for _, r := range []store.Request{first, second} {
		if got, err := f.db.GetRequest(uiCtx(t), r.ID); err != nil || got.DecisionOf("bob") == nil {
			t.Errorf("request %d has no decision of bob: %v", r.ID, err)
		}
	}
	b.run("bob makes a token", chromedp.Navigate(f.srv.URL+"/settings/tokens"), chromedp.SendKeys(b.css(`#t-description`), "approval bot"))
	if status := b.submit("bob creates the token", `#create-token`); status != 201 {
		t.Fatalf("creating a token ended on %d", status)
	}
	b.run("the token is shown", chromedp.WaitVisible(b.css(`#token-secret`)), b.shot("nojs-1-token"))
	if n := eval[int](b, copies); n != 0 {
		t.Errorf("the new token's page shows %d Copy buttons that cannot copy", n)
	}
}
