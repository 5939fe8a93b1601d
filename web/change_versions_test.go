package web

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// pageText is a page's main content as a reader sees its words: tags
// dropped, entities decoded, white space collapsed.
func pageText(body string) string {
	if _, main, ok := strings.Cut(body, `<main id="main">`); ok {
		body = main
	}
	body = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

// An approver deciding a change to a live role sees that it is a change
// and to which live version, on the dashboard and the request page; who
// has already approved the version before them; and, in the timeline and
// the Versions card, which version each decision was on and which version
// is live: bob's approval of the first version read as one of the change.
func TestAChangeSaysWhichVersionIsLiveAndWhoApprovedIt(t *testing.T) {
	f := uiProxyTest(t)
	r := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-writer", "alice")))
	spec := r.Spec
	spec.Buckets = []provision.BucketScope{{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessReadWrite}}
	if _, err := f.db.RequestChange(f.ctx, store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, r.ID,
		store.NewVersion{Spec: spec, Justification: "the job now writes its summary"}); err != nil {
		t.Fatalf("RequestChange: %v", err)
	}
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 2,
		store.Decision{Approve: true, Comment: "fine for the summary"}); err != nil {
		t.Fatalf("bob approves: %v", err)
	}
	carol := f.client("carol", approverGroups)

	dash := carol.get("/dashboard")
	_, row, _ := strings.Cut(dash.body, fmt.Sprintf(`data-id="%d"`, r.ID))
	row, _, _ = strings.Cut(row, "</li>")
	if got := pageText(row); !strings.Contains(got, "change to live version 1") {
		t.Errorf("the dashboard's row does not say it is a change to the live role: %q", got)
	}

	page := carol.get(fmt.Sprintf("/requests/%d", r.ID))
	text := pageText(page.body)
	if !strings.Contains(text, "version 2, a change to the live version 1") {
		t.Errorf("the page's heading does not say the version decided is a change of the live one: %q", text)
	}
	_, approvals, _ := strings.Cut(page.body, `id="h-approvals"`)
	approvals, _, _ = strings.Cut(approvals, "</section>")
	if got := pageText(approvals); !strings.Contains(got, "bob approved") || !strings.Contains(got, "fine for the summary") {
		t.Errorf("the Approvals card does not say who approved this version: %q", got)
	}
	_, timeline, _ := strings.Cut(page.body, `id="h-timeline"`)
	timeline, _, _ = strings.Cut(timeline, "</ol>")
	items := strings.Split(timeline, "<li")[1:]
	var decisions []string
	for _, it := range items {
		if s := pageText("<li" + it); strings.HasPrefix(s, "bob approved") || strings.HasPrefix(s, "dave approved") {
			decisions = append(decisions, s)
		}
	}
	for i, d := range decisions {
		want := "version 1"
		if i == len(decisions)-1 {
			want = "version 2"
		}
		if len(decisions) < 2 || !strings.HasSuffix(d, want) {
			t.Errorf("the timeline's decisions do not name their versions: %q", decisions)
			break
		}
	}
	if !strings.Contains(text, "What will be applied once approved.") {
		t.Errorf("the pending change's Terraform is not said to be applied once approved")
	}
	_, versions, _ := strings.Cut(page.body, `id="h-versions"`)
	versions, _, _ = strings.Cut(versions, "</section>")
	lines := strings.Split(versions, "<li")[1:]
	if len(lines) != 2 || !strings.Contains(pageText("<li"+lines[0]), "live") || !strings.Contains(pageText("<li"+lines[1]), "pending") ||
		strings.Contains(pageText("<li"+lines[1]), "live") {
		t.Errorf("the Versions card does not mark the live and the pending version: %q", pageText(versions))
	}
}

// The Terraform of an approved version not yet provisioned is not said to
// be applied "once approved".
func TestTerraformOfAnApprovedVersionIsNotAwaitingApproval(t *testing.T) {
	f := uiProxyTest(t)
	r := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, r.Version,
		store.Decision{Approve: true}); err != nil {
		t.Fatalf("bob approves: %v", err)
	}
	text := pageText(f.client("bob", approverGroups).get(fmt.Sprintf("/requests/%d", r.ID)).body)
	if !strings.Contains(text, "approved") || strings.Contains(text, "once approved") || !strings.Contains(text, "not provisioned yet") {
		t.Errorf("the approved request's Terraform is described as: %q", text)
	}
}

// A change that was rejected, cancelled by its requester, or dropped by
// the role's revocation is marked so in the Versions card: without it the
// card listed the change bare, as if it were still waiting or had gone
// live.
func TestVersionsCardSaysHowAChangeEnded(t *testing.T) {
	f := uiProxyTest(t)
	r := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-writer", "alice")))
	alice := store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}
	change := func(bucket string) {
		t.Helper()
		spec := r.Spec
		spec.Buckets = []provision.BucketScope{{Bucket: bucket, Access: provision.AccessRead}}
		if _, err := f.db.RequestChange(f.ctx, alice, r.ID, store.NewVersion{Spec: spec, Justification: "the job reads " + bucket}); err != nil {
			t.Fatalf("RequestChange: %v", err)
		}
	}
	change("team-archive")
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 2,
		store.Decision{Approve: false, Comment: "not that bucket"}); err != nil {
		t.Fatalf("bob rejects: %v", err)
	}
	change("team-exports")
	if _, err := f.db.Cancel(f.ctx, alice, r.ID); err != nil {
		t.Fatalf("alice cancels her change: %v", err)
	}
	change("team-drops")
	if _, err := f.db.Revoke(f.ctx, alice, r.ID); err != nil {
		t.Fatalf("alice revokes the role with her change pending: %v", err)
	}
	page := f.client("alice", "").get(fmt.Sprintf("/requests/%d", r.ID))
	_, versions, _ := strings.Cut(page.body, `id="h-versions"`)
	versions, _, _ = strings.Cut(versions, "</section>")
	var got []string
	for _, li := range strings.Split(versions, "<li")[1:] {
		got = append(got, pageText("<li"+li))
	}
	want := []string{"Version 1 live", "Version 2 rejected", "Version 3 cancelled", "Version 4 dropped"}
	if len(got) != len(want) {
		t.Fatalf("the Versions card lists %q, want %d versions", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]+" by ") {
			t.Errorf("Versions card line %d = %q, want it to start %q", i+1, got[i], want[i])
		}
	}
}

// A request with more events than the timeline shows (a role whose drift
// is repaired every hour for months) shows its latest ones and says that
// earlier ones were left out: the page showed the oldest thousand, hiding
// everything since.
func TestTimelineShowsTheLatestEvents(t *testing.T) {
	f := uiProxyTest(t)
	r := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-reader", "alice")))
	if _, err := f.db.Pool().Exec(f.ctx, `
		INSERT INTO audit_events (request_id, version, actor, kind, data, created_at)
		SELECT $1, 1, 'reviewer' || g, 'review.reminder', '{}', now() + g * interval '1 second'
		FROM generate_series(1, $2::int) g`, r.ID, timelineSize); err != nil {
		t.Fatal(err)
	}
	page := f.client("alice", "").get(fmt.Sprintf("/requests/%d", r.ID))
	_, timeline, _ := strings.Cut(page.body, `id="h-timeline"`)
	timeline, _, _ = strings.Cut(timeline, "</section>")
	items := strings.Split(timeline, `<li class="ev`)[1:]
	if len(items) != timelineSize {
		t.Fatalf("the timeline shows %d events, want the latest %d", len(items), timelineSize)
	}
	if first, last := pageText(`<li class="ev`+items[0]), pageText(`<li class="ev`+items[len(items)-1]); !strings.HasPrefix(first, "reviewer1 ") ||
		!strings.HasPrefix(last, fmt.Sprintf("reviewer%d ", timelineSize)) {
		t.Errorf("the timeline runs from %q to %q, want the latest events, oldest first", first, last)
	}
	if !strings.Contains(timeline, `data-testid="earlier-events"`) {
		t.Errorf("the timeline does not say that earlier events were left out")
	}
	other := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("reports-other", "alice")))
	if body := f.client("alice", "").get(fmt.Sprintf("/requests/%d", other.ID)).body; strings.Contains(body, `data-testid="earlier-events"`) {
		t.Errorf("a request with few events says earlier ones were left out")
	}
}
