package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

func TestApproverShortensExpiry(t *testing.T) {
	f := uiProxyTest(t)
	asked := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Minute)
	withExpiry := func(name string) store.Request {
		in := uiNewReq(name, "alice")
		in.Spec.ExpiresAt = &asked
		return uiCreate(t, f.db, in)
	}
	req := withExpiry("short-lived")
	plain := uiCreate(t, f.db, uiNewReq("no-expiry", "alice"))
	bob := f.client("bob", approverGroups)
	page := fmt.Sprintf("/requests/%d", req.ID)
	field := fmt.Sprintf(`id="expires-%d"`, req.ID)

	// The field is offered only when the version asked for an expiry, on
	// the request page and the dashboard.
	pageHas(t, bob.get(page), field, `type="datetime-local"`, `max="`+asked.Format(expiryLayout)+`"`, "Shorten expiry to")
	pageHas(t, bob.get("/dashboard"), field)
	pageLacks(t, bob.get(fmt.Sprintf("/requests/%d", plain.ID)), "Shorten expiry to")

	decide := func(expires, back string) uiResponse {
		form := url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {"ok <for> a week"}, "expires_at": {expires}}
		if back != "" {
			form.Set("return", back)
		}
		return bob.post(page+"/decide", form)
	}
	longer := asked.Add(48 * time.Hour).Format(expiryLayout)
	// The expiry asked for, as a time (not the lifetime it is stored as).
	notLonger := "may shorten the expiry, not lengthen it (the request asks for " + asked.Format(time.RFC3339) + ")"
	for name, tc := range map[string]struct{ value, back, title, msg string }{
		"lengthened":            {longer, "", "<title>Request #", notLonger},
		"lengthened, dashboard": {longer, "/dashboard?status=pending", "<title>Approver dashboard", notLonger},
		"past":                  {time.Now().Add(-time.Hour).UTC().Format(expiryLayout), "", "<title>Request #", "Expiry must be in the future"},
		"year 9999":             {"9999-12-31T23:59", "", "<title>Request #", "Expiry must be at most 10 years ahead"},
		"not a time":            {"next tuesday", "", "<title>Request #", "Enter a date and time (UTC)"},
	} {
		r := decide(tc.value, tc.back)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422\n%s", name, r.status, pageExcerpt(r.body))
			continue
		}
		// The message is at the field, which keeps what was typed, as does the comment.
		pageHas(t, r, tc.title, fmt.Sprintf(`id="expires-%d-error"`, req.ID), tc.msg,
			`value="`+tc.value+`"`, `value="ok &lt;for&gt; a week"`, `aria-invalid="true"`)
	}
	if got, _ := f.db.GetRequest(f.ctx, req.ID); got.Status != store.StatusPending {
		t.Fatalf("after refused approvals: %s", got.Status)
	}

	// A shorter expiry is taken: the version's lifetime is about a week.
	week := time.Now().Add(7 * 24 * time.Hour).UTC().Format(expiryLayout)
	r := bob.follow(page+"/decide", url.Values{"version": {"1"}, "decision": {"approve"}, "expires_at": {week}})
	pageHas(t, r, "flash-ok", "Approved request #", "expires at: ")
	versions, err := f.db.ListVersions(f.ctx, req.ID)
	if err != nil || len(versions) != 1 {
		t.Fatalf("versions: %v, %v", versions, err)
	}
	if ttl := versions[0].TTL; ttl > 7*24*time.Hour || ttl < 7*24*time.Hour-2*time.Minute {
		t.Errorf("approved lifetime %s, want about a week", ttl)
	}

	// A rejection ignores the field, whatever it holds.
	other := withExpiry("rejected-one")
	r = bob.follow(fmt.Sprintf("/requests/%d/decide", other.ID), url.Values{"version": {"1"}, "decision": {"reject"}, "expires_at": {"garbage"}})
	pageHas(t, r, "flash-ok", "Rejected request #")
	// An over-long comment comes back at the comment field.
	third := withExpiry("third-one")
	r = bob.post(fmt.Sprintf("/requests/%d/decide", third.ID), url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {strings.Repeat("x", 4001)}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, fmt.Sprintf(`id="comment-%d-error"`, third.ID)) {
		t.Errorf("long comment: %d", r.status)
	}
	pageHas(t, r, "The comment is over 4000 characters.")
}

func TestAuditNewestFirst(t *testing.T) {
	f := uiProxyTest(t)
	for i := range auditPageSize + 5 {
		if _, err := f.db.AppendEvent(f.ctx, store.Event{Actor: "admin", Kind: "test.tick", Data: map[string]any{"reason": fmt.Sprintf("tick-%03d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	bob := f.client("bob", approverGroups)
	r := bob.get("/audit?kind=test.tick")
	rows := strings.Count(r.body, "<code>test.tick</code>")
	if rows != auditPageSize {
		t.Fatalf("first page has %d events, want %d", rows, auditPageSize)
	}
	ids := tickOrder(r.body)
	if len(ids) != auditPageSize || ids[0] != auditPageSize+4 || ids[1] != auditPageSize+3 {
		t.Errorf("first page is not newest first: %v", ids)
	}
	next := strings.ReplaceAll(between(r.body, `href="`, `" rel="next"`), "&amp;", "&")
	if !strings.Contains(next, "before=") {
		t.Fatalf("next link %q", next)
	}
	p2 := bob.get(next)
	if n := strings.Count(p2.body, "<code>test.tick</code>"); n != 5 {
		t.Errorf("second page has %d events, want 5", n)
	}
	pageHas(t, p2, "Newest events")
	pageLacks(t, p2, `rel="next"`)
	if r := bob.get("/audit?before=x"); r.status != http.StatusBadRequest {
		t.Errorf("bad before = %d", r.status)
	}
}

// tickOrder returns the tick numbers of the audit rows in page order.
func tickOrder(body string) []int {
	var out []int
	for _, part := range strings.Split(body, "tick-")[1:] {
		var n int
		if _, err := fmt.Sscanf(part, "%03d", &n); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func between(s, start, end string) string {
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	i := strings.LastIndex(s[:j], start)
	if i < 0 {
		return ""
	}
	return s[i+len(start) : j]
}
