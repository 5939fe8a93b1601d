package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func scope(bucket, prefix string, a provision.Access) provision.BucketScope {
	return provision.BucketScope{Bucket: bucket, Prefix: prefix, Access: a}
}

func TestAutoApproveNarrowing(t *testing.T) {
	f, ctx := setup(t, store.Options{Rules: store.ApprovalRules{AutoApproveNarrowing: true}})
	// Routed to finance: the live version needed erin's approval too.
	in := newRequest("etl-reader", "alice", scope("etl-data", "in/", provision.AccessRead), read("finance-ledger"))
	r := mustCreate(t, f.db, in)
	approve(t, f.db, erin, r)
	live := activate(t, f, r)

	// Narrower: a sub-prefix, one bucket dropped. Approved by the rule,
	// routed group and count included, and queued for provisioning.
	got, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{
		Spec: withScopes(live.Spec, scope("etl-data", "in/2026/", provision.AccessRead)), Justification: "less is enough"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusApproved || got.Version != 2 {
		t.Fatalf("narrowing change: %s v%d, want approved v2", got.Status, got.Version)
	}
	if p := f.db.Progress(got); !p.Complete() || p.ByRule != store.RuleNoNewAccess || p.String() != "approved by the no-new-access rule" {
		t.Fatalf("progress = %+v (%s)", p, p)
	}
	if d := got.DecisionOf("rolegate"); d == nil || d.Rule != store.RuleNoNewAccess || len(d.Roles) != 0 || len(d.Groups) != 0 {
		t.Fatalf("rule decision = %+v", d)
	}
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: live.ID, Kind: store.EventDecisionApproved, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Actor != "rolegate" || last.Data["rule"] != store.RuleNoNewAccess ||
		!strings.Contains(strings.Join(anyStrings(last.Data["reasons"]), "\n"), "`etl-data/in/2026/` (read) is within the live `etl-data/in/` (read)") {
		t.Fatalf("the rule's decision event = %+v", last)
	}
	submitted, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: live.ID, Kind: store.EventChangeSubmitted, Limit: 10})
	if err != nil || submitted[0].Data["no_new_access"] != true ||
		submitted[0].Data["access_change"] != "narrows: list keys under `in/` in `etl-data` to `etl-data/in/2026/`; read objects under `etl-data/in/` to `etl-data/in/2026/`; removes: list every key in `finance-ledger`; read any object in `finance-ledger`" {
		t.Fatalf("change.submitted = %+v, %v", submitted, err)
	}
	if jobs := jobArgs(t, f.db, "provision", live.ID); len(jobs) != 2 || jobs[1]["version"] != float64(2) {
		t.Fatalf("provision jobs = %v", jobs)
	}
	live = provisionNow(t, f, got)

	// Wider (another bucket): people decide.
	got, err = f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{
		Spec: withScopes(live.Spec, scope("etl-data", "in/2026/", provision.AccessRead), read("more-data")), Justification: "more"})
	if err != nil || got.Status != store.StatusPending || f.db.Progress(got).ByRule != "" {
		t.Fatalf("widening change: %s, %v", got.Status, err)
	}
	// Nobody may make a rule decision through Decide: a person named
	// like the rule's actor holds no role, and approves nothing.
	_, err = f.db.Decide(ctx, store.Actor{Name: "rolegate"}, got.ID, got.Version, store.Decision{Approve: true})
	wantErr(t, err, store.ErrForbidden, "")
}

func TestNarrowingNeedsTheRuleSwitchedOn(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	live := activate(t, f, mustCreate(t, f.db, newRequest("etl-reader", "alice", read("etl-data"))))
	got, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{
		Spec: withScopes(live.Spec, scope("etl-data", "x/", provision.AccessRead)), Justification: "less"})
	if err != nil || got.Status != store.StatusPending {
		t.Fatalf("narrowing change without the rule: %s, %v", got.Status, err)
	}
	a, err := f.db.Assess(ctx, carol, []store.Request{got})
	if err != nil || a[got.ID].Change == nil || !a[got.ID].Change.Narrowing.NoNewAccess {
		t.Fatalf("assessment = %+v, %v", a[got.ID], err)
	}
	// A rule decision counts only while the rule is on.
	d := []store.DecisionRecord{{Approver: "rolegate", Approve: true, Rule: store.RuleNoNewAccess, Roles: []store.Role{}}}
	if (store.ApprovalRules{}).Progress(got.Spec, d).Complete() {
		t.Fatal("a rule approval completed the progress with the rule off")
	}
	if !(store.ApprovalRules{AutoApproveNarrowing: true}).Progress(got.Spec, d).Complete() {
		t.Fatal("a rule approval did not complete the progress with the rule on")
	}
}

// TestRuleApprovedChangeKeepsTheExpiry: a change approved by the rule asked
// for an expiry no later than the one in force; counted from activation,
// its lifetime would end later, so it is cut at the one in force.
func TestRuleApprovedChangeKeepsTheExpiry(t *testing.T) {
	f, ctx := setup(t, store.Options{Rules: store.ApprovalRules{AutoApproveNarrowing: true}})
	in := newRequest("etl-reader", "alice", read("etl-data"))
	until := f.clock.Now().Add(10 * 24 * time.Hour)
	in.Spec.ExpiresAt = &until
	live := activate(t, f, mustCreate(t, f.db, in))
	inForce := *live.ExpiresAt

	earlier := inForce.Add(-time.Minute)
	next := withScopes(live.Spec, scope("etl-data", "x/", provision.AccessRead))
	next.ExpiresAt = &earlier
	got, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: next, Justification: "less"})
	if err != nil || got.Status != store.StatusApproved {
		t.Fatalf("narrowing change: %s, %v", got.Status, err)
	}
	f.clock.Advance(time.Hour) // provisioning starts an hour later
	got = provisionNow(t, f, got)
	if !got.ExpiresAt.Equal(inForce) {
		t.Fatalf("expiry after the rule-approved change = %s, want the one in force %s", got.ExpiresAt, inForce)
	}
}

func TestAssess(t *testing.T) {
	f, ctx := setup(t, store.Options{Risks: provision.RiskThresholds{SharedBucketRoles: 2}})
	activate(t, f, mustCreate(t, f.db, newRequest("one", "mallory", read("shared-data"))))
	activate(t, f, mustCreate(t, f.db, newRequest("two", "carol", read("shared-data"))))
	mine := activate(t, f, mustCreate(t, f.db, newRequest("mine", "alice", scope("shared-data", "a/", provision.AccessRead))))
	change, err := f.db.RequestChange(ctx, alice, mine.ID, store.NewVersion{
		Spec: withScopes(mine.Spec, scope("shared-data", "a/", provision.AccessReadWrite)), Justification: "writes now"})
	if err != nil {
		t.Fatal(err)
	}
	as, err := f.db.Assess(ctx, carol, []store.Request{change})
	if err != nil {
		t.Fatal(err)
	}
	a := as[change.ID]
	if got := strings.Join(a.Summary.Access, "; "); got != "list keys under `a/` in `shared-data`; read, write and delete objects under `shared-data/a/`" {
		t.Errorf("summary = %q", got)
	}
	var codes []string
	for _, r := range a.Risks {
		codes = append(codes, r.Code)
	}
	// Two other live roles reach shared-data (not counting this one).
	if want := []string{"delete", "no-expiry", "shared-bucket", "widens"}; !slices.Equal(codes, want) {
		t.Errorf("risks = %v, want %v", a.Risks, want)
	}
	if a.Change == nil || a.Change.Access.Text() != "adds: write objects under `shared-data/a/`; delete objects under `shared-data/a/`" || a.Change.Narrowing.NoNewAccess {
		t.Errorf("change = %+v", a.Change)
	}
	newSpec := provision.RoleSpec{Name: "new", Buckets: []provision.BucketScope{read("shared-data")}}
	pre, err := f.db.AssessSpec(ctx, dave, newSpec, store.Request{})
	if err != nil || !pre.HasRisk(provision.RiskSharedBucket) || !strings.Contains(pre.Risks[1].Message, "(3 other roles)") {
		t.Errorf("AssessSpec = %+v, %v", pre, err)
	}
	// A preview of a change of a live role counts the other roles as the
	// stored change's assessment does, not that role itself (it counted 3).
	ofChange, err := f.db.AssessSpec(ctx, dave, change.Spec, change)
	if err != nil || !slices.ContainsFunc(ofChange.Risks, func(r provision.Risk) bool {
		return r.Code == provision.RiskSharedBucket && strings.Contains(r.Message, "(2 other roles)")
	}) {
		t.Errorf("AssessSpec of a change of its role = %+v, %v; want 2 other roles", ofChange.Risks, err)
	}
	// How many roles reach a bucket is told only to those who may read
	// every request: a requester (alice, of her own change; mallory,
	// probing a bucket by preview) is never told of roles they may not see.
	for _, viewer := range []store.Actor{alice, mallory, erin} {
		pre, err := f.db.AssessSpec(ctx, viewer, newSpec, store.Request{})
		if err != nil || pre.HasRisk(provision.RiskSharedBucket) {
			t.Errorf("AssessSpec for %s = %+v, %v", viewer.Name, pre.Risks, err)
		}
		as, err := f.db.Assess(ctx, viewer, []store.Request{change})
		if err != nil || as[change.ID].HasRisk(provision.RiskSharedBucket) {
			t.Errorf("Assess for %s = %+v, %v", viewer.Name, as[change.ID].Risks, err)
		}
		page, _, err := f.db.ListAssessed(ctx, viewer, store.ListFilter{}, provision.RiskSharedBucket)
		if err != nil || len(page.Requests) != 0 {
			t.Errorf("ListAssessed shared-bucket for %s = %d requests, %v", viewer.Name, len(page.Requests), err)
		}
	}
	if page, _, err := f.db.ListAssessed(ctx, bob, store.ListFilter{}, provision.RiskSharedBucket); err != nil || len(page.Requests) == 0 {
		t.Errorf("ListAssessed shared-bucket for an approver = %d requests, %v", len(page.Requests), err)
	}
}

func TestReusableRoles(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	etl := mustCreate(t, f.db, newRequest("etl-reader", "alice", scope("etl-data", "in/", provision.AccessReadWrite)))
	approve(t, f.db, carol, etl) // writes need two approvals
	etl = activate(t, f, etl)
	ledger := mustCreate(t, f.db, newRequest("ledger", "alice", read("finance-ledger")))
	approve(t, f.db, erin, ledger)
	ledger = activate(t, f, ledger)
	mustCreate(t, f.db, newRequest("pending-one", "alice", read("etl-data"))) // not live
	activate(t, f, mustCreate(t, f.db, newRequest("mallorys", "mallory", read("etl-data"))))

	names := func(rs []store.Reuse) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.RoleName)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		viewer store.Actor
		scopes []provision.BucketScope
		except int64
		want   []string
	}{
		{"inside the prefix, lower access", alice, []provision.BucketScope{scope("etl-data", "in/2026/", provision.AccessRead)}, 0, []string{"etl-reader"}},
		{"same scope", bob, []provision.BucketScope{scope("etl-data", "in/", provision.AccessReadWrite)}, 0, []string{"etl-reader"}},
		{"in without the slash is wider", alice, []provision.BucketScope{scope("etl-data", "in", provision.AccessRead)}, 0, nil},
		{"whole bucket is wider", alice, []provision.BucketScope{read("etl-data")}, 0, nil},
		{"partly covered is not reuse", alice, []provision.BucketScope{scope("etl-data", "in/x", provision.AccessRead), read("other")}, 0, nil},
		{"the request itself is left out", alice, []provision.BucketScope{scope("etl-data", "in/", provision.AccessRead)}, etl.ID, nil},
		{"a data owner sees roles of their buckets", erin, []provision.BucketScope{read("finance-ledger")}, 0, []string{"ledger"}},
		{"and not the others", erin, []provision.BucketScope{scope("etl-data", "in/a", provision.AccessRead)}, 0, nil},
	} {
		got, err := f.db.ReusableRoles(ctx, tt.viewer, "alice", "", tt.scopes, tt.except)
		if err != nil || !slices.Equal(names(got), tt.want) {
			t.Errorf("%s: ReusableRoles = %v, %v; want %v", tt.name, names(got), err, tt.want)
		}
	}
	_ = ledger
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestListAssessedByRisk(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	var deleters []int64
	for i := range 7 {
		in := newRequest(fmt.Sprintf("role-%d", i), "alice", scope("data-bucket", fmt.Sprintf("p%d/", i), provision.AccessRead))
		if i%3 == 0 {
			in.Spec.Buckets[0].Access = provision.AccessReadWrite
		}
		r := mustCreate(t, f.db, in)
		if i%3 == 0 {
			deleters = append(deleters, r.ID)
		}
	}
	var got []int64
	filter := store.ListFilter{Limit: 2, OldestFirst: true}
	for pages := 0; ; pages++ {
		page, as, err := f.db.ListAssessed(ctx, carol, filter, provision.RiskDelete)
		if err != nil || pages > 5 {
			t.Fatalf("ListAssessed: %v after %d pages", err, pages)
		}
		for _, r := range page.Requests {
			if !as[r.ID].HasRisk(provision.RiskDelete) {
				t.Fatalf("request %d kept without the risk: %+v", r.ID, as[r.ID])
			}
			got = append(got, r.ID)
		}
		if page.Next == "" {
			break
		}
		filter.Cursor = page.Next
	}
	if !slices.Equal(got, deleters) {
		t.Fatalf("requests flagged delete = %v, want %v", got, deleters)
	}
	_, _, err := f.db.ListAssessed(ctx, carol, store.ListFilter{}, "scary")
	wantErr(t, err, store.ErrInvalid, `unknown risk "scary"`)
}
