package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focusOn waits up to 5 s for the focus to be on the element with id
// want (a page's autofocus applies as it renders), and returns the id of
// the element that has it.
func (b *browserSession) focusOn(want string) string {
	b.t.Helper()
	js := fmt.Sprintf(`document.activeElement && document.activeElement.id === %q`, want)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(5*time.Second), chromedp.WithPollingInterval(20*time.Millisecond))); err == nil {
		return want
	}
	return eval[string](b, `document.activeElement ? document.activeElement.id : ""`)
}

// press focuses sel, presses Enter and waits for the page it leads to.
func (b *browserSession) press(step, sel string) int64 {
	b.t.Helper()
	b.run(step+": focus", chromedp.Focus(b.css(sel)))
	resp, err := chromedp.RunResponse(b.ctx, chromedp.KeyEvent(kb.Enter))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return resp.Status
}

// TestBrowserScopeRowsByKeyboard: with the keyboard alone, adding a scope
// row puts the focus in the new row's bucket, and removing one puts it in
// the row that took its place, not back at the top of the page; a problem
// of a whole row (an overlap) marks the row's bucket invalid and is read
// with it, as every message at a field is.
func TestBrowserScopeRowsByKeyboard(t *testing.T) {
	b, f := browserTest(t)
	b.signInAs(f.srv.URL, "alice")
	b.startRequest(f.srv.URL, "reports-reader", "The nightly report job reads these.", "team-a")

	if status := b.press("alice adds a row", `#add-scope`); status != 200 {
		t.Fatalf("adding a row answered %d", status)
	}
	if got := b.focusOn("f-bucket-1"); got != "f-bucket-1" {
		t.Fatalf("after adding a row the focus is on %q, want the new row's bucket f-bucket-1", got)
	}
	b.run("alice types the new row's bucket and prefix",
		chromedp.KeyEvent("team-a"),
		chromedp.SendKeys(b.css(`#f-prefix-1`), "logs/"),
	)
	b.press("alice adds a third row", `#add-scope`)
	if got := b.focusOn("f-bucket-2"); got != "f-bucket-2" {
		t.Fatalf("after adding a third row the focus is on %q", got)
	}
	b.run("alice types the third row's bucket", chromedp.KeyEvent("team-b"))
	if status := b.press("alice submits", `#f-bucket-2`); status != 422 {
		t.Fatalf("submitting overlapping rows answered %d, want 422", status)
	}
	b.run("the form shows the overlap", chromedp.WaitVisible(b.css(`#f-bucket-1-row-error`)), b.shot("keyboard-1-overlap"))
	if got := eval[string](b, `document.getElementById("f-bucket-1").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the overlapping row's bucket has aria-invalid=%q", got)
	}
	// Every message at a field is in the aria-describedby of a control.
	unread := eval[[]string](b, `[...document.querySelectorAll("form .field-error")].filter(m =>
		![...document.querySelectorAll("[aria-describedby]")].some(c => c.getAttribute("aria-describedby").split(/\s+/).includes(m.id)))
		.map(m => m.id + ": " + m.textContent)`)
	if len(unread) > 0 {
		t.Errorf("messages no field is described by:\n%s", strings.Join(unread, "\n"))
	}
	// The summary's link leads to a field that reads the message.
	if href := eval[string](b, `document.querySelector("#error-summary a").getAttribute("href")`); href != "#f-bucket-1" {
		t.Errorf("the summary links to %q", href)
	}

	b.press("alice removes the second row", `[aria-label="Remove scope 2"]`)
	if got := eval[[]string](b, `[...document.querySelectorAll("#scopes input[name=bucket]")].map(e => e.value)`); strings.Join(got, ",") != "team-a,team-b" {
		t.Fatalf("after removing the second row the buckets are %q", got)
	}
	if got := b.focusOn("f-bucket-1"); got != "f-bucket-1" {
		t.Errorf("after removing the second row the focus is on %q, want f-bucket-1, the row that took its place", got)
	}
	b.press("alice removes the last row", `[aria-label="Remove scope 2"]`)
	if got := b.focusOn("f-bucket-0"); got != "f-bucket-0" {
		t.Errorf("after removing the last row the focus is on %q, want f-bucket-0", got)
	}
}

// TestBrowserButtonNamesHoldTheirWords: a button named for screen readers
// (aria-label) still holds the words it shows, so a person who says "click
// Let it go" to voice control, or hears the name, meets the same button:
// on the reviews page and the sessions page, for one's own sessions and,
// for an admin, everyone's.
func TestBrowserButtonNamesHoldTheirWords(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	f, _ := reviewDue(t, "carol")
	devSignIn(t, f.client("", ""), "alice")
	b.signInAs(f.srv.URL, "carol")
	const misnamed = `[...document.querySelectorAll("main button[aria-label], main a[aria-label]")]
		.filter(e => !e.getAttribute("aria-label").toLowerCase().includes(e.textContent.trim().toLowerCase()))
		.map(e => location.pathname + location.search + ": " + JSON.stringify(e.textContent.trim()) + " is named " + JSON.stringify(e.getAttribute("aria-label")))`
	var bad []string
	for _, page := range []struct{ path, ready string }{
		{"/reviews", `[data-state="due"]`},
		{"/settings/sessions", `.sessions`},
		{"/settings/sessions?all=1", `tr[data-user="alice"]`},
	} {
		b.run("carol opens "+page.path, chromedp.Navigate(f.srv.URL+page.path), chromedp.WaitVisible(b.css(page.ready)))
		bad = append(bad, eval[[]string](b, misnamed)...)
	}
	if len(bad) > 0 {
		t.Errorf("buttons whose names lack their words:\n%s", strings.Join(bad, "\n"))
	}
}
