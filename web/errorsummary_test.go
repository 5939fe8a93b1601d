package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	summaryRe = regexp.MustCompile(`(?s)<div class="error-summary".*?</div>`)
	hrefRe    = regexp.MustCompile(`href="#([^"]*)"`)
)

// summaryLinksLand fails t when the page's error summary links to an id
// the page does not have.
func summaryLinksLand(t *testing.T, page string) {
	t.Helper()
	summary := summaryRe.FindString(page)
	if summary == "" {
		t.Fatalf("no error summary; page:\n%s", pageExcerpt(page))
	}
	for _, m := range hrefRe.FindAllStringSubmatch(summary, -1) {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("the error summary links to #%s, which the page lacks; summary:\n%s", m[1], summary)
		}
	}
}

// TestErrorSummaryLinksOnlyToFieldsOnThePage: a form naming a managed
// policy where none are allowed (the page shows no managed policies) has
// the problem listed without a link; it linked to #f-managed, which is
// not there. So is an account named where there is only one (no chooser).
func TestErrorSummaryLinksOnlyToFieldsOnThePage(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	form := url.Values{"name": {"with-managed"}, "justification": {"reports"}, "bucket": {"team-reports"},
		"prefix": {"daily/"}, "access": {"read"}, "managed": {"ReadOnlyAccess"}, "account": {"elsewhere"}}
	r := alice.post("/requests/new", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("POST /requests/new = %d, want 422; page:\n%s", r.status, pageExcerpt(r.body))
	}
	pageHas(t, r, "Managed policies", "Account")
	summaryLinksLand(t, r.body)
}
