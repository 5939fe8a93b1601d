package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestDecideRefusesSelfApproval(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	// The requester holds every role: none of them lets her decide.
	boss := store.Actor{Name: "boss", Roles: store.Roles(), Groups: []string{"finance"}}
	r := mustCreate(t, f.db, newRequest("self-approved", "boss", read("finance-ledger")))
	for _, d := range []store.Decision{{Approve: true}, {Approve: false}} {
		_, err := f.db.Decide(ctx, boss, r.ID, 1, d)
		wantErr(t, err, store.ErrForbidden, "your own request")
	}
	if got := f.db.Allowed(boss, r); got.Approve || got.Reject {
		t.Fatalf("Allowed(requester) = %+v, want no decision", got)
	}
	// An approver's own request is no different.
	own := mustCreate(t, f.db, newRequest("bobs-own", "bob"))
	_, err := f.db.Decide(ctx, bob, own.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrForbidden, "")
	wantStatus(t, f.db, r.ID, store.StatusPending)
	wantStatus(t, f.db, own.ID, store.StatusPending)
	if n := countEvents(t, f.db, r.ID, store.EventDecisionApproved) + countEvents(t, f.db, own.ID, store.EventDecisionApproved); n != 0 {
		t.Fatalf("%d decision events stored for refused decisions", n)
	}
}

// TestDecideNamesDifferingInCaseAreOnePerson: an identity provider may
// name one person Bob at one sign-in and bob at another (an LDAP login as
// typed, an email address). Neither name decides on a request of the
// other, and the two approve once between them, so one person never meets
// a quorum of two alone.
func TestDecideNamesDifferingInCaseAreOnePerson(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))
	bigAlice := store.Actor{Name: "Alice", Roles: []store.Role{store.RoleRequester, store.RoleApprover}}
	if got := f.db.Allowed(bigAlice, r); got.Approve || got.Reject {
		t.Errorf("Allowed(Alice, alice's request) = %+v, want no decision", got)
	}
	_, err := f.db.Decide(ctx, bigAlice, r.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrForbidden, "your own request")

	approve(t, f.db, bob, r)
	bigBob := store.Actor{Name: "BOB", Roles: bob.Roles}
	r = wantStatus(t, f.db, r.ID, store.StatusPending)
	if got := f.db.Allowed(bigBob, r); got.Approve || got.Reject {
		t.Errorf("Allowed(BOB after bob approved) = %+v, want no decision", got)
	}
	if d := r.DecisionOf("BOB"); d == nil || d.Approver != "bob" {
		t.Errorf("DecisionOf(BOB) = %+v, want bob's", d)
	}
	_, err = f.db.Decide(ctx, bigBob, r.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrConflict, "already decided")
	if r = wantStatus(t, f.db, r.ID, store.StatusPending); f.db.Progress(r).Given != 1 {
		t.Errorf("progress after bob and BOB = %s, want 1 approval", f.db.Progress(r))
	}
	// Decisions stored before this rule count their maker once.
	p := f.db.Rules().Progress(r.Spec, []store.DecisionRecord{
		{Approver: "bob", Roles: bob.Roles, Approve: true}, {Approver: "Bob", Roles: bob.Roles, Approve: true}})
	if p.Given != 1 || p.Complete() {
		t.Errorf("progress of bob's and Bob's stored approvals = %s, want 1 of 2", p)
	}
	approve(t, f.db, carol, r)
	wantStatus(t, f.db, r.ID, store.StatusApproved)
}

func TestDecideOnlyByApproversOrRoutedGroup(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	plain := mustCreate(t, f.db, newRequest("plain-reader", "alice"))
	routed := mustCreate(t, f.db, newRequest("ledger-reader", "alice", read("finance-ledger")))

	_, err := f.db.Decide(ctx, mallory, plain.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrForbidden, "only approvers")
	// erin owns the finance buckets, not this one.
	_, err = f.db.Decide(ctx, erin, plain.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrForbidden, "")
	if got := f.db.Allowed(erin, plain); got.Approve {
		t.Fatalf("Allowed(erin, plain) = %+v", got)
	}
	if got := f.db.Allowed(erin, routed); !got.Approve || !got.Reject {
		t.Fatalf("Allowed(erin, routed) = %+v, want approve and reject", got)
	}
	// erin's approval satisfies her group, never the count.
	if got := approve(t, f.db, erin, routed); got.Status != store.StatusPending {
		t.Fatalf("routed request after erin's approval alone: %s, want pending", got.Status)
	}
	if got := approve(t, f.db, bob, routed); got.Status != store.StatusApproved {
		t.Fatalf("routed request after erin's and bob's approvals: %s", got.Status)
	}
	wantStatus(t, f.db, plain.ID, store.StatusPending)
}

func TestQuorum(t *testing.T) {
	f, _ := setup(t, store.Options{})
	many := func(n int, scope func(string) provision.BucketScope) []provision.BucketScope {
		var out []provision.BucketScope
		for i := range n {
			out = append(out, scope(fmt.Sprintf("bucket-%02d", i)))
		}
		return out
	}
	cases := []struct {
		name   string
		scopes []provision.BucketScope
		need   int
	}{
		{"read-only", []provision.BucketScope{read("reports"), read("exports")}, 1},
		{"write", []provision.BucketScope{read("reports"), write("exports")}, 2},
		{"read-write", []provision.BucketScope{{Bucket: "reports", Access: provision.AccessReadWrite}}, 2},
		{"five-buckets", many(5, read), 1},
		{"six-buckets", many(6, read), 2},
		// Two prefixes of one bucket are one bucket.
		{"prefixes", append(many(4, read), provision.BucketScope{Bucket: "logs", Prefix: "a/", Access: provision.AccessRead},
			provision.BucketScope{Bucket: "logs", Prefix: "b/", Access: provision.AccessRead}), 1},
	}
	approvers := []store.Actor{bob, carol, dave}
	for _, tc := range cases {
		if got := f.db.Rules().Need(provision.RoleSpec{Buckets: tc.scopes}).Approvals; got != tc.need {
			t.Errorf("%s: Need = %d, want %d", tc.name, got, tc.need)
			continue
		}
		r := mustCreate(t, f.db, newRequest("quorum-"+tc.name, "alice", tc.scopes...))
		for i := range tc.need {
			got := approve(t, f.db, approvers[i], r)
			want := store.StatusPending
			if i == tc.need-1 {
				want = store.StatusApproved
			}
			if got.Status != want {
				t.Errorf("%s: after %d approval(s) status = %s, want %s", tc.name, i+1, got.Status, want)
			}
			jobs := 0
			if want == store.StatusApproved {
				jobs = 1
			}
			if n := len(jobArgs(t, f.db, "provision", r.ID)); n != jobs {
				t.Errorf("%s: after %d approval(s) %d provision jobs, want %d", tc.name, i+1, n, jobs)
			}
		}
	}
}

func TestRoutingNeedsAnApprovalFromTheGroup(t *testing.T) {
	f, _ := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("ledger-reader", "alice", read("finance-ledger"), read("reports")))
	if need := f.db.Rules().Need(r.Spec); need.Approvals != 1 || !slices.Equal(need.Groups, []string{"finance"}) {
		t.Fatalf("Need = %+v", need)
	}
	// Approvers outside the group meet the count but not the routing.
	for _, a := range []store.Actor{bob, carol} {
		if got := approve(t, f.db, a, r); got.Status != store.StatusPending {
			t.Fatalf("after %s: %s, want pending (finance has not approved)", a.Name, got.Status)
		}
	}
	if n := len(jobArgs(t, f.db, "provision", r.ID)); n != 0 {
		t.Fatalf("%d provision jobs before the group approved", n)
	}
	if got := approve(t, f.db, erin, r); got.Status != store.StatusApproved {
		t.Fatalf("after erin: %s, want approved", got.Status)
	}
	vs, err := f.db.ListVersions(ctxT(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	ds := vs[0].Decisions
	if len(ds) != 3 || ds[2].Approver != "erin" || !slices.Equal(ds[2].Groups, []string{"finance"}) || len(ds[0].Groups) != 0 {
		t.Fatalf("decisions = %+v", ds)
	}

	// An approver who is also a data owner satisfies both at once.
	frank := store.Actor{Name: "frank", Roles: []store.Role{store.RoleApprover}, Groups: []string{"finance"}}
	r2 := mustCreate(t, f.db, newRequest("ledger-reader-2", "alice", read("finance-ledger")))
	if got := approve(t, f.db, frank, r2); got.Status != store.StatusApproved {
		t.Fatalf("after frank: %s, want approved", got.Status)
	}
}

func TestAnyRejectionRejects(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))
	approve(t, f.db, bob, r)
	got, err := f.db.Decide(ctx, carol, r.ID, 1, store.Decision{Approve: false, Comment: "too broad"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusRejected || !strings.Contains(got.StatusReason, "carol") {
		t.Fatalf("after rejection: %+v", got)
	}
	_, err = f.db.Decide(ctx, dave, r.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrConflict, "is rejected")
	if n := len(jobArgs(t, f.db, "provision", 0)); n != 0 {
		t.Fatalf("%d provision jobs after a rejection", n)
	}
	if countEvents(t, f.db, r.ID, store.EventRejected) != 1 || countEvents(t, f.db, r.ID, store.EventDecisionRejected) != 1 {
		t.Fatal("want one decision.rejected and one request.rejected event")
	}
	vs, err := f.db.ListVersions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ds := vs[0].Decisions; len(ds) != 2 || !ds[0].Approve || ds[1].Approve || ds[1].Comment != "too broad" {
		t.Fatalf("decisions = %+v", ds)
	}
	// The name is free again.
	mustCreate(t, f.db, newRequest("exports-writer", "alice", read("exports")))
}

func TestDecideTwiceOrOnAnOldVersionConflicts(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))
	approve(t, f.db, bob, r)
	for _, d := range []store.Decision{{Approve: true}, {Approve: false}} {
		_, err := f.db.Decide(ctx, bob, r.ID, 1, d)
		wantErr(t, err, store.ErrConflict, "already decided")
	}
	wantStatus(t, f.db, r.ID, store.StatusPending)

	_, err := f.db.Decide(ctx, carol, r.ID, 2, store.Decision{Approve: true})
	wantErr(t, err, store.ErrConflict, "version 1, not 2")

	live := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	changed, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: withScopes(live.Spec, read("reports")), Justification: "more"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.db.Decide(ctx, carol, changed.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrConflict, "review the new version")
}

func TestDecideCommentLimit(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))
	_, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, Comment: strings.Repeat("x", 4001)})
	wantErr(t, err, store.ErrInvalid, "4000")
	if _, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, Comment: strings.Repeat("x", 4000)}); err != nil {
		t.Fatalf("a 4000-character comment: %v", err)
	}
}

func TestCancel(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	r := mustCreate(t, f.db, newRequest("reports-reader", "alice"))
	if a := f.db.Allowed(alice, r); !a.Cancel || f.db.Allowed(bob, r).Cancel {
		t.Fatal("Allowed: only the requester may cancel")
	}
	_, err := f.db.Cancel(ctx, bob, r.ID)
	wantErr(t, err, store.ErrForbidden, "only the requester")
	got, err := f.db.Cancel(ctx, alice, r.ID)
	if err != nil || got.Status != store.StatusCancelled {
		t.Fatalf("cancel: %+v, %v", got, err)
	}
	if countEvents(t, f.db, r.ID, store.EventCancelled) != 1 {
		t.Fatal("want one request.cancelled event")
	}
	_, err = f.db.Cancel(ctx, alice, r.ID)
	wantErr(t, err, store.ErrConflict, "is cancelled, so it cannot be cancelled")

	approved := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports"))))
	_, err = f.db.Cancel(ctx, alice, approved.ID)
	wantErr(t, err, store.ErrConflict, "is approved")
	_, err = f.db.Cancel(ctx, alice, 987654)
	wantErr(t, err, store.ErrNotFound, "")
}

func TestIllegalTransitions(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	pending := mustCreate(t, f.db, newRequest("pending-role", "alice"))
	cancelled := mustCreate(t, f.db, newRequest("cancelled-role", "alice"))
	if _, err := f.db.Cancel(ctx, alice, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	active := activate(t, f, mustCreate(t, f.db, newRequest("active-role", "alice")))
	spec := withScopes(pending.Spec, read("other"))

	_, err := f.db.Revoke(ctx, alice, pending.ID)
	wantErr(t, err, store.ErrConflict, "is pending, so it cannot be revoked")
	_, err = f.db.Retry(ctx, dave, active.ID)
	wantErr(t, err, store.ErrConflict, "is active, so it cannot be retried")
	_, err = f.db.RequestChange(ctx, alice, pending.ID, store.NewVersion{Spec: spec, Justification: "x"})
	wantErr(t, err, store.ErrConflict, "is pending, so it cannot be changed")
	_, err = f.db.Decide(ctx, bob, cancelled.ID, 1, store.Decision{Approve: true})
	wantErr(t, err, store.ErrConflict, "is cancelled, so it cannot be decided")

	_, err = f.db.Revoke(ctx, mallory, active.ID)
	wantErr(t, err, store.ErrForbidden, "")
	_, err = f.db.RequestChange(ctx, mallory, active.ID, store.NewVersion{Spec: active.Spec, Justification: "x"})
	wantErr(t, err, store.ErrForbidden, "")
	// Nothing moved.
	wantStatus(t, f.db, pending.ID, store.StatusPending)
	wantStatus(t, f.db, active.ID, store.StatusActive)
}
