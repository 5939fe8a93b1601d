package web

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/provision"
)

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
