package web

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// The timeline shows a change's policy diff as the change card does, as
// code in a pre element that keeps each line as it is: it showed the lines
// as text, in the page's font, whose white space the browser collapses.
func TestTimelineShowsAChangesPolicyDiffAsCode(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	r := uiActivate(t, db, uiCreate(t, db, uiNewReq("reports-writer", "alice")))
	spec := r.Spec
	spec.Buckets = []provision.BucketScope{{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessReadWrite}}
	if _, err := db.RequestChange(uiCtx(t), store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, r.ID,
		store.NewVersion{Spec: spec, Justification: "the job now writes its summary"}); err != nil {
		t.Fatalf("RequestChange: %v", err)
	}
	page := uiServe(t, db, uiProxyIdentity()).client("alice", "requesters").get(fmt.Sprintf("/requests/%d", r.ID))
	_, timeline, ok := strings.Cut(page.body, `id="h-timeline"`)
	timeline, _, _ = strings.Cut(timeline, "</ol>")
	if !ok {
		t.Fatalf("the page has no timeline:\n%s", pageExcerpt(page.body))
	}
	_, code, ok := strings.Cut(timeline, `<pre class="code diff">`)
	code, _, _ = strings.Cut(code, "</pre>")
	text := html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(code, ""))
	if !ok || !strings.Contains(text, "\n+         \"s3:PutObject\"") || !strings.HasPrefix(text, "@@ -") {
		t.Errorf("the timeline does not show the policy diff as code, as a unified diff:\n%s", timeline)
	}
	if !strings.Contains(code, `<span class="add">+ `) || !strings.Contains(code, `<span class="hunk">@@ `) {
		t.Errorf("the policy diff's added lines and hunk headers are not marked:\n%s", code)
	}

	// The audit log's row gives the changed lines alone, without their
	// indentation: the hunks do not fit a row.
	audit := uiServe(t, db, uiProxyIdentity()).client("bob", approverGroups).get(fmt.Sprintf("/audit?request=%d&kind=%s", r.ID, store.EventChangeSubmitted))
	if !strings.Contains(audit.body, "+ &#34;s3:PutObject&#34;") || strings.Contains(audit.body, "@@ -") {
		t.Errorf("the audit log row does not give the changed lines alone:\n%s", pageExcerpt(audit.body))
	}
}
