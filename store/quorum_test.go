package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// TestApprovalRuleTable enumerates caller kinds × routes × access levels
// through the one rule (ApprovalRules.Progress), as the store, the pages
// and the API all apply it.
func TestApprovalRuleTable(t *testing.T) {
	t.Parallel()
	rules := store.ApprovalRules{Required: 1, Elevated: 2, Routes: []store.Route{financeRoute}}
	type caller struct {
		name   string
		roles  []store.Role
		groups []string
	}
	callers := []caller{
		{"requester", []store.Role{store.RoleRequester}, nil},
		{"data-owner", []store.Role{store.RoleRequester}, []string{"finance"}},
		{"other-owner", []store.Role{store.RoleRequester}, []string{"hr"}},
		{"approver", []store.Role{store.RoleApprover}, nil},
		{"approver-owner", []store.Role{store.RoleApprover}, []string{"finance"}},
		{"admin", []store.Role{store.RoleAdmin}, nil},
		{"legacy", nil, nil}, // a decision recorded before roles were: never counts
	}
	routes := map[string]string{"unrouted": "reports", "routed": "finance-ledger"}
	levels := []provision.Access{provision.AccessRead, provision.AccessWrite, provision.AccessReadWrite}
	for _, a := range callers {
		for _, b := range callers {
			for route, bucket := range routes {
				for _, level := range levels {
					name := fmt.Sprintf("%s+%s/%s/%s", a.name, b.name, route, level)
					spec := provision.RoleSpec{Buckets: []provision.BucketScope{{Bucket: bucket, Access: level}}}
					var ds []store.DecisionRecord
					for i, c := range []caller{a, b} {
						ds = append(ds, store.DecisionRecord{Approver: fmt.Sprint(c.name, i), Roles: c.roles, Groups: c.groups, Approve: true})
					}
					p := rules.Progress(spec, ds)

					required := 1
					if level != provision.AccessRead {
						required = 2
					}
					given := 0
					groupOK := route == "unrouted"
					for _, c := range []caller{a, b} {
						if slices.Contains(c.roles, store.RoleApprover) || slices.Contains(c.roles, store.RoleAdmin) {
							given++
						}
						if slices.Contains(c.groups, "finance") {
							groupOK = true
						}
					}
					if p.Required != required || p.Given != given {
						t.Errorf("%s: required %d given %d, want %d and %d", name, p.Required, p.Given, required, given)
					}
					if want := given >= required && groupOK; p.Complete() != want {
						t.Errorf("%s: complete = %v, want %v (%s)", name, p.Complete(), want, p)
					}
					// Data owners never stand in for the count.
					if !slices.Contains(a.roles, store.RoleApprover) && !slices.Contains(a.roles, store.RoleAdmin) &&
						!slices.Contains(b.roles, store.RoleApprover) && !slices.Contains(b.roles, store.RoleAdmin) && p.Complete() {
						t.Errorf("%s: complete without any approver", name)
					}
				}
			}
		}
	}
	// A rejection never counts as an approval.
	p := rules.Progress(provision.RoleSpec{Buckets: []provision.BucketScope{read("finance-ledger")}},
		[]store.DecisionRecord{{Approver: "x", Roles: []store.Role{store.RoleApprover}, Groups: []string{"finance"}}})
	if p.Given != 0 || p.Groups[0].Satisfied {
		t.Errorf("a rejection counted: %+v", p)
	}
}

func TestProgressInWords(t *testing.T) {
	t.Parallel()
	rules := store.ApprovalRules{Required: 1, Elevated: 2, Routes: []store.Route{financeRoute, {Pattern: "hr-*", Group: "hr"}}}
	spec := provision.RoleSpec{Buckets: []provision.BucketScope{write("finance-ledger"), read("hr-payroll")}}
	p := rules.Progress(spec, []store.DecisionRecord{{Approver: "bob", Roles: []store.Role{store.RoleApprover}, Groups: []string{"hr"}, Approve: true}})
	if got, want := p.String(), "1 of 2 approvals; still needs finance"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := rules.Progress(spec, nil).Requirement(), "will need 2 approvals from approvers and one from each of finance, hr"; got != want {
		t.Errorf("Requirement() = %q, want %q", got, want)
	}
	one := provision.RoleSpec{Buckets: []provision.BucketScope{read("finance-ledger")}}
	if got, want := rules.Progress(one, nil).Requirement(), "will need 1 approval from approvers and one from finance"; got != want {
		t.Errorf("Requirement() = %q, want %q", got, want)
	}
}

// TestDataOwnersCannotApproveAlone is the finding: two members of a routed
// group without the approver role approved read-write on their bucket and
// an unrouted HR bucket, and the role went live.
func TestDataOwnersCannotApproveAlone(t *testing.T) {
	f, _ := setup(t, store.Options{Rules: store.ApprovalRules{Routes: []store.Route{{Pattern: "team-fin-*", Group: "finance"}}}})
	erin2 := store.Actor{Name: "erin2", Roles: []store.Role{store.RoleRequester}, Groups: []string{"finance"}}
	fin := erin
	r := mustCreate(t, f.db, newRequest("fin-and-hr", "alice",
		provision.BucketScope{Bucket: "team-fin-a", Access: provision.AccessReadWrite},
		provision.BucketScope{Bucket: "team-hr-payroll", Access: provision.AccessReadWrite}))
	for _, a := range []store.Actor{fin, erin2} {
		if got := approve(t, f.db, a, r); got.Status != store.StatusPending {
			t.Fatalf("after %s (a data owner) the request is %s, want pending", a.Name, got.Status)
		}
	}
	if n := len(jobArgs(t, f.db, "provision", r.ID)); n != 0 {
		t.Fatalf("%d provision jobs after data owners alone approved", n)
	}
	got := wantStatus(t, f.db, r.ID, store.StatusPending)
	if p := f.db.Progress(got); p.Given != 0 || p.Required != 2 || !p.Groups[0].Satisfied || p.String() != "0 of 2 approvals" {
		t.Fatalf("progress = %+v (%s)", p, p)
	}
	// Approvers complete the count; the group is already satisfied.
	if got := approve(t, f.db, bob, r); got.Status != store.StatusPending || f.db.Progress(got).String() != "1 of 2 approvals" {
		t.Fatalf("after bob: %s, %s", got.Status, f.db.Progress(got))
	}
	if got := approve(t, f.db, carol, r); got.Status != store.StatusApproved {
		t.Fatalf("after carol: %s, want approved", got.Status)
	}
}

// TestDecidedApproverSeesNoButtons: once an approver decided on a version,
// the actions offered are gone; their decision is on the request.
func TestDecidedApproverSeesNoButtons(t *testing.T) {
	f, _ := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))
	if got := f.db.Allowed(bob, r); !got.Approve || !got.Reject {
		t.Fatalf("before deciding: %+v", got)
	}
	r = approve(t, f.db, bob, r)
	if got := f.db.Allowed(bob, r); got.Approve || got.Reject {
		t.Fatalf("after deciding: %+v, want no decision offered", got)
	}
	if d := r.DecisionOf("bob"); d == nil || !d.Approve || !slices.Equal(d.Roles, bob.Roles) {
		t.Fatalf("DecisionOf(bob) = %+v", d)
	}
	if got := f.db.Allowed(carol, r); !got.Approve {
		t.Fatalf("carol has not decided: %+v", got)
	}
}

// TestMayViewIsOneRule: the requester, approvers, admins and the members
// of a routed group read a request in every state; nobody else does.
func TestMayViewIsOneRule(t *testing.T) {
	f, _ := setup(t, store.Options{})
	routed := mustCreate(t, f.db, newRequest("ledger-reader", "alice", read("finance-ledger")))
	plain := mustCreate(t, f.db, newRequest("reports-reader", "alice", read("reports")))
	for _, tc := range []struct {
		who           store.Actor
		routed, plain bool
	}{{alice, true, true}, {mallory, false, false}, {bob, true, true}, {carol, true, true}, {dave, true, true}, {erin, true, false}} {
		if got := f.db.MayView(tc.who, routed); got != tc.routed {
			t.Errorf("MayView(%s, routed) = %v", tc.who.Name, got)
		}
		if got := f.db.MayView(tc.who, plain); got != tc.plain {
			t.Errorf("MayView(%s, plain) = %v", tc.who.Name, got)
		}
	}
	// Still readable by the data owner once decided (it was 403 before).
	approve(t, f.db, erin, routed)
	done := approve(t, f.db, bob, routed)
	if done.Status != store.StatusApproved || !f.db.MayView(erin, done) {
		t.Fatalf("erin may not read the approved request routed to her (%s)", done.Status)
	}
}

// TestRolesListEveryRoleInIAM: a live role with a change under way is
// still in IAM, so the Roles listing keeps it; ended ones are gone.
func TestRolesListEveryRoleInIAM(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	steady := activate(t, f, mustCreate(t, f.db, newRequest("steady-reader", "alice")))
	changing := activate(t, f, mustCreate(t, f.db, newRequest("changing-reader", "alice")))
	if _, err := f.db.RequestChange(ctx, alice, changing.ID, store.NewVersion{Spec: withScopes(changing.Spec, read("reports")), Justification: "more"}); err != nil {
		t.Fatal(err)
	}
	gone := activate(t, f, mustCreate(t, f.db, newRequest("gone-reader", "alice")))
	if _, err := f.db.Revoke(ctx, alice, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteRevocation(ctx, gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Being revoked, or failed to revoke: still in IAM until removed.
	going := activate(t, f, mustCreate(t, f.db, newRequest("going-reader", "alice")))
	if _, err := f.db.Revoke(ctx, alice, going.ID); err != nil {
		t.Fatal(err)
	}
	stuck := activate(t, f, mustCreate(t, f.db, newRequest("stuck-reader", "alice")))
	if _, err := f.db.Revoke(ctx, alice, stuck.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.FailRevocation(ctx, stuck.ID, "AccessDenied"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, f.db, newRequest("never-live", "alice"))
	page, err := f.db.ListActiveRoles(ctx, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range page.Requests {
		names = append(names, r.Spec.Name)
	}
	if want := []string{"stuck-reader", "going-reader", "changing-reader", "steady-reader"}; !slices.Equal(names, want) {
		t.Fatalf("roles listed: %v, want %v (steady %d)", names, want, steady.ID)
	}
}

// TestDataOwnersKeepSeeingTheLiveRole: a change that drops a routed
// bucket does not hide the live role, which still reaches it, from that
// bucket's owners (page, API and dashboard all ask MayView and the
// DecidableBy filter).
func TestDataOwnersKeepSeeingTheLiveRole(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("ledger-writer", "alice", read("finance-ledger")))
	approve(t, f.db, erin, r)
	r = provisionNow(t, f, approve(t, f.db, bob, r))
	changed, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: withScopes(r.Spec, read("reports")), Justification: "drop the ledger"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed.LiveBuckets, []string{"finance-ledger"}) {
		t.Fatalf("LiveBuckets = %v", changed.LiveBuckets)
	}
	if !f.db.MayView(erin, changed) {
		t.Fatal("erin may no longer read the live role on her bucket once a change dropping it is pending")
	}
	if f.db.MayView(mallory, changed) {
		t.Fatal("mallory may read it")
	}
	page, err := f.db.ListRequests(ctx, store.ListFilter{DecidableBy: &erin})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Requests) != 1 || page.Requests[0].ID != r.ID {
		t.Fatalf("erin's dashboard: %+v", page.Requests)
	}
}

func TestRoutePatternsAreWhatSQLReadsAlike(t *testing.T) {
	t.Parallel()
	for pattern, ok := range map[string]bool{"finance-*": true, "team-?-logs": true, "a.b-c*": true,
		"finance-[ab]*": false, `fin\-*`: false, "Finance-*": false, "fin%": false, "fin_x": false} {
		err := store.ApprovalRules{Routes: []store.Route{{Pattern: pattern, Group: "g"}}}.Validate()
		if (err == nil) != ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", pattern, err, ok)
		}
	}
}
