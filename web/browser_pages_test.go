package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// eval runs js in the page and returns its value, failing the test on
// error.
func eval[T any](b *browserSession, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// signInAs signs in through the dev sign-in page.
func (b *browserSession) signInAs(base, user string) {
	b.t.Helper()
	b.run("sign in as "+user,
		chromedp.Navigate(base+"/signin"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Sign in as `+user+`")]`)),
		chromedp.WaitVisible(b.css(`[data-user="`+user+`"]`)),
	)
}

// switchUser signs the dev user in as user with the header's switcher.
func (b *browserSession) switchUser(user string) {
	b.t.Helper()
	b.run("switch to "+user,
		chromedp.SetValue(b.css(`#switch-user`), user),
		chromedp.Click(b.css(`.switcher button`)),
		chromedp.WaitVisible(b.css(`[data-user="`+user+`"]`)),
	)
}

// startRequest opens the new-request form at base and types the role's
// name, its justification and the first scope's bucket.
func (b *browserSession) startRequest(base, name, justification, bucket string) {
	b.t.Helper()
	b.run("start a request for "+name,
		chromedp.Navigate(base+"/requests/new"),
		chromedp.WaitVisible(b.css(`#f-name`)),
		chromedp.SendKeys(b.css(`#f-name`), name),
		chromedp.SendKeys(b.css(`#f-justification`), justification),
		chromedp.SendKeys(b.css(`#f-bucket-0`), bucket),
	)
}

// submit clicks sel and waits until the page it leads to has loaded; it
// returns that page's HTTP status.
func (b *browserSession) submit(step, sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(b.css(sel)))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return resp.Status
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js)(ctx, tg)
		return err
	})
}

// TestBrowserFormProblems: the request form keeps an empty scope row and
// says what is wrong with it, gives one message per fault, counts the same
// in the summary, at the fields and in the preview, lists the summary in
// the order of the fields, names scopes as people count them, keeps each
// scope row aligned when a field has an error, shows the whole Access
// choice, and says a role name is taken while typing.
func TestBrowserFormProblems(t *testing.T) {
	b, f := browserTest(t)
	uiCreate(t, f.db, uiNewReq("reports-reader", "bob"))
	css := b.css
	b.signInAs(f.srv.URL, "alice")

	b.run("alice types a name another request holds",
		chromedp.Navigate(f.srv.URL+"/requests/new"),
		chromedp.WaitVisible(css(`#f-name`)),
		chromedp.SendKeys(css(`#f-name`), "Reports-Reader"),
		chromedp.SendKeys(css(`#f-bucket-0`), "team-x"),
		waitFor(`(document.getElementById("preview").textContent||"").includes("already")`),
		b.shot("form-1-name-taken"),
	)
	if got := b.text(`#preview .problems`); !strings.Contains(got, "Role name") || !strings.Contains(got, "already requested or live") {
		t.Errorf("preview for a taken name says %q", got)
	}

	// Four rows: an upper-case bucket, an empty row, a whole bucket and a
	// prefix of it; no justification.
	b.run("alice fills the first row",
		chromedp.SetValue(css(`#f-name`), "rough-edges"),
		chromedp.SetValue(css(`#f-bucket-0`), "Team-Reports"),
		chromedp.SetValue(css(`#f-access-0`), "read-write"),
	)
	for range 3 {
		b.submit("alice adds a row", `#add-scope`)
	}
	b.run("alice fills rows 3 and 4",
		chromedp.SendKeys(css(`#f-bucket-2`), "team-a"),
		chromedp.SendKeys(css(`#f-bucket-3`), "team-a"),
		chromedp.SendKeys(css(`#f-prefix-3`), "logs/"),
	)
	if status := b.submit("alice submits", `#submit`); status != 422 {
		t.Fatalf("submitting answered %d, want 422", status)
	}
	b.run("the form shows the problems", chromedp.WaitVisible(css(`#error-summary`)), b.shot("form-2-problems"))
	if n := b.count(`.scope-row`); n != 4 {
		t.Errorf("after submitting, the form has %d scope rows, want the 4 typed", n)
	}
	if body := b.text("main"); strings.Contains(body, "at least one bucket") || strings.Contains(body, "buckets[") {
		t.Errorf("the page speaks of %q", body)
	}
	if got := b.text(`#f-bucket-1-error`); got != "bucket name is required" {
		t.Errorf("the empty row's bucket says %q", got)
	}
	if n := b.count(`#scopes .scope-row[data-row="0"] .field-error`); n != 1 {
		t.Errorf("the upper-case bucket has %d messages, want 1", n)
	}
	if got := b.text(`#f-bucket-3-row-error`); !strings.Contains(got, "overlaps scope 3") {
		t.Errorf("the overlapping row says %q, want it to name scope 3", got)
	}
	links := eval[[]string](b, `[...document.querySelectorAll("#error-summary li a")].map(a => a.getAttribute("href"))`)
	if want := []string{"#f-justification", "#f-bucket-0", "#f-bucket-1", "#f-bucket-3"}; !slices.Equal(links, want) {
		t.Errorf("the summary lists %v, want the order of the fields %v", links, want)
	}
	if n, want := b.count(`.field-error`), len(links); n != want {
		t.Errorf("%d messages at the fields, %d in the summary", n, want)
	}

	// Each row's controls share one top edge, even with an error under one.
	for _, row := range []int{0, 1, 3} {
		tops := eval[[]float64](b, fmt.Sprintf(`[...document.querySelectorAll('.scope-row[data-row="%d"] input, .scope-row[data-row="%d"] select')].map(e => e.getBoundingClientRect().top)`, row, row))
		if len(tops) != 3 || tops[0] != tops[1] || tops[1] != tops[2] {
			t.Errorf("row %d: the tops of bucket, prefix and access are %v", row, tops)
		}
		inRow := eval[bool](b, fmt.Sprintf(`(() => { const r = document.querySelector('.scope-row[data-row="%d"]');
			const i = r.querySelector("input").getBoundingClientRect(), btn = r.querySelector(".row-actions button").getBoundingClientRect();
			const mid = btn.top + btn.height/2; return mid > i.top && mid < i.bottom; })()`, row))
		if !inRow {
			t.Errorf("row %d: the Remove button is not level with the inputs", row)
		}
	}
	// The Access select is at least as wide as it would be on its own, so
	// "read-write" is not cut.
	clipped := eval[bool](b, `(() => { const s = document.getElementById("f-access-0"); const c = s.cloneNode(true);
		c.style.cssText = "position:absolute;width:auto;min-width:0"; document.body.appendChild(c);
		const natural = c.getBoundingClientRect().width; c.remove(); return s.getBoundingClientRect().width + 0.5 < natural; })()`)
	if clipped {
		t.Error(`the Access select is narrower than "read-write" needs`)
	}

	b.run("alice adds a justification", chromedp.SendKeys(css(`#f-justification`), "The nightly report job reads these."))
	if status := b.submit("alice submits again", `#submit`); status != 422 {
		t.Fatalf("submitting again answered %d, want 422", status)
	}
	b.run("the form shows the problems again", chromedp.WaitVisible(css(`#error-summary`)), b.shot("form-3-problems-justified"))
	summary := b.count(`#error-summary li`)
	if fields, pv := b.count(`.field-error`), b.count(`#preview .problems li`); summary != 3 || fields != 3 || pv != 3 {
		t.Errorf("problems: %d in the summary, %d at the fields, %d in the preview; want 3 everywhere", summary, fields, pv)
	}
	if got := b.text(`#preview .problems`); strings.Contains(got, "buckets[") || !strings.Contains(got, "Scope 1") {
		t.Errorf("the preview says %q", got)
	}
}

// TestBrowserLongContent: long labels, ARNs and Terraform lines stay
// readable: the dashboard's tabs keep one line, ARNs break only after : or
// /, and long Terraform lines scroll inside their box.
func TestBrowserLongContent(t *testing.T) {
	b, f := browserTest(t)
	long := uiNewReq("quarterly-finance-reports-reader-analytics", "alice",
		provision.BucketScope{Bucket: "finance-quarterly-reports-archive-eu-west-1", Prefix: "exports/by-region/by-quarter/very-long-key-prefix-for-the-archive/", Access: provision.AccessReadWrite})
	r := uiActivate(t, f.db, uiCreate(t, f.db, long))
	b.signInAs(f.srv.URL, "bob")
	b.run("bob opens the dashboard",
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(b.css(`.tabs`)),
		b.shot("long-1-dashboard"),
	)
	tabs := eval[[]float64](b, `[...document.querySelectorAll(".tabs a")].map(a => a.getClientRects().length === 1 ? a.getBoundingClientRect().top : -1)`)
	for i, top := range tabs {
		if top != tabs[0] || top < 0 {
			t.Errorf("dashboard tabs: %v (tab %d is not on the first line, or wraps)", tabs, i)
			break
		}
	}

	b.run("bob opens the active role",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", f.srv.URL, r.ID)),
		chromedp.WaitVisible(b.css(`#role-arn`)),
		b.shot("long-2-detail"),
	)
	// Every line of an ARN but the last ends right after ":" or "/", and
	// no ARN overflows its box: on the role facts and in the timeline.
	bad := eval[[]string](b, `[...document.querySelectorAll("#role-arn, #profile-arn, .timeline code.arn")].map(el => {
		const text = el.textContent, walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), chars = [];
		for (let n; (n = walker.nextNode());) { for (let i = 0; i < n.length; i++) { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i+1); chars.push([n.data[i], r.getBoundingClientRect().top]); } }
		for (let i = 1; i < chars.length; i++) { if (chars[i][1] > chars[i-1][1] + 1 && !":/".includes(chars[i-1][0])) { return text.slice(0, i) + " | " + text.slice(i); } }
		return el.getBoundingClientRect().right > el.parentElement.getBoundingClientRect().right + 1 ? "overflows: " + text : ""; }).filter(s => s)`)
	if n := b.count(".timeline code.arn"); n < 3 || len(bad) > 0 {
		t.Errorf("%d ARNs in the timeline; ARNs broken mid-name: %q", n, bad)
	}
	// Long Terraform lines scroll inside their box, which stays within its
	// card and shows a shadow at the edge where more text lies.
	tf := eval[[]float64](b, `(() => { const p = document.getElementById("terraform"), card = p.closest(".card").getBoundingClientRect(), r = p.getBoundingClientRect();
		const wide = p.scrollWidth > p.clientWidth; p.scrollLeft = 40; const moved = p.scrollLeft > 0; p.scrollLeft = 0;
		return [wide ? 1 : 0, moved ? 1 : 0, r.right <= card.right ? 1 : 0, getComputedStyle(p).backgroundImage.includes("radial-gradient") ? 1 : 0]; })()`)
	if !slices.Equal(tf, []float64{1, 1, 1, 1}) {
		t.Errorf("Terraform box: [long lines, scrolls, within its card, edge shadow] = %v, want all 1", tf)
	}
	b.run("bob opens the roles list", chromedp.Navigate(f.srv.URL+"/roles"), chromedp.WaitVisible(b.css(`.arns`)), b.shot("long-3-roles"))
	if bad := eval[bool](b, `[...document.querySelectorAll(".arns code")].some(c => c.getBoundingClientRect().right > c.closest("td").getBoundingClientRect().right + 1)`); bad {
		t.Error("an ARN on the roles page overflows its cell")
	}
}

// TestBrowserAuditProvisionSteps: each provisioning step in the audit log
// names the resource and what was done to it.
func TestBrowserAuditProvisionSteps(t *testing.T) {
	b, f := browserTest(t)
	r := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	ctx := uiCtx(t)
	for _, name := range []string{"bob", "dave"} {
		if r.Status != store.StatusPending {
			break
		}
		var err error
		if r, err = f.db.Decide(ctx, store.Actor{Name: name, Roles: []store.Role{store.RoleApprover}}, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.BeginProvisioning(ctx, r.ID, r.Version); err != nil {
		t.Fatal(err)
	}
	roleARN := "arn:aws:iam::123456789012:role/rolegate/reports-reader"
	if err := f.db.CompleteProvisioning(ctx, r.ID, r.Version, store.ProvisionResult{
		RoleARN: roleARN, InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/rolegate/reports-reader",
		Steps: []store.Step{
			{Resource: "role", Name: "reports-reader", ARN: roleARN, Outcome: "created"},
			{Resource: "inline-policy", Name: provision.InlinePolicyName, ARN: roleARN, Outcome: "updated", Changes: []string{"statement 1 added"}},
			{Resource: "instance-profile", Name: "reports-reader", Outcome: "unchanged"},
		}}); err != nil {
		t.Fatal(err)
	}
	b.signInAs(f.srv.URL, "bob")
	b.run("bob reads the audit log",
		chromedp.Navigate(f.srv.URL+"/audit?kind=provision.step"),
		chromedp.WaitVisible(b.css(`.table`)),
		b.shot("audit-1-steps"),
	)
	rows := eval[[]string](b, `[...document.querySelectorAll(".table tbody tr td:last-child")].map(td => td.textContent.trim())`)
	want := []string{"role reports-reader created", "inline policy " + provision.InlinePolicyName + " updated", "instance profile reports-reader unchanged"}
	if len(rows) != len(want) {
		t.Fatalf("audit rows: %q", rows)
	}
	for _, w := range want {
		if !slices.ContainsFunc(rows, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("no audit row starts with %q: %q", w, rows)
		}
	}
}

// TestBrowserAPIReference: /api/docs is a page of the app: its header,
// its styles, readable descriptions and a height a person can scroll.
func TestBrowserAPIReference(t *testing.T) {
	b, f := browserTest(t)
	b.run("open the API reference",
		chromedp.Navigate(f.srv.URL+"/api/docs"),
		chromedp.WaitVisible(b.css(`header.top .brand`)),
		b.shot("api-1-reference"),
	)
	if h := eval[float64](b, `document.documentElement.scrollHeight`); h > 2500 {
		t.Errorf("the reference is %v px tall", h)
	}
	if n := b.count(`details.operation`); n < 15 {
		t.Errorf("%d operations", n)
	}
	if n := b.count(`section.api-tag h2`); n < 4 {
		t.Errorf("%d tag groups", n)
	}
	intro := b.text(`.api-intro`)
	if strings.Contains(intro, "`") || b.count(`.api-intro code`) == 0 {
		t.Errorf("the introduction shows %q", intro)
	}
	if font := eval[string](b, `getComputedStyle(document.querySelector(".api-intro p")).fontFamily`); strings.Contains(font, "monospace") {
		t.Errorf("the introduction is set in %s", font)
	}
	if main := b.text(`main`); strings.Contains(main, "`") {
		t.Error("the page shows literal backticks")
	}
	b.run("open one operation",
		chromedp.Click(b.css(`details.operation[data-op="POST /api/v1/requests"] summary`)),
		chromedp.WaitVisible(b.css(`details.operation[data-op="POST /api/v1/requests"] table`)),
		b.shot("api-2-operation"),
	)
}
