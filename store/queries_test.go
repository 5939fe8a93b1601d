package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestAllowedByStateAndActor(t *testing.T) {
	f, _ := setup(t, store.Options{})
	plain := provision.RoleSpec{Name: "plain", Buckets: []provision.BucketScope{read("reports")}}
	routed := provision.RoleSpec{Name: "routed", Buckets: []provision.BucketScope{read("finance-ledger")}}
	ownerAdmin := store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester, store.RoleAdmin, store.RoleApprover}}

	var (
		none   = store.Actions{}
		decide = store.Actions{Approve: true, Reject: true}
		cancel = store.Actions{Cancel: true}
		own    = store.Actions{Change: true, Revoke: true}
		revoke = store.Actions{Revoke: true}
		// revokeRetry: a failed request may be retried or removed.
		revokeRetry = store.Actions{Revoke: true, Retry: true}
	)
	type want struct{ owner, ownerAdmin, approver, admin, stranger, member, memberRouted store.Actions }
	// Wherever something may be in IAM (approved, provisioning, failed),
	// the owner and admins may revoke.
	cases := map[store.Status]want{
		store.StatusPending:      {cancel, cancel, decide, decide, none, none, decide},
		store.StatusActive:       {own, own, none, revoke, none, none, none},
		store.StatusFailed:       {revoke, revokeRetry, none, revokeRetry, none, none, none},
		store.StatusApproved:     {owner: revoke, ownerAdmin: revoke, admin: revoke},
		store.StatusProvisioning: {owner: revoke, ownerAdmin: revoke, admin: revoke},
		store.StatusRejected:     {},
		store.StatusCancelled:    {},
		store.StatusRevoking:     {},
		store.StatusRevoked:      {},
		store.StatusExpired:      {},
	}
	// A live role with a change waiting for approval.
	changing := store.Request{ID: 2, Requester: "alice", Status: store.StatusPending, Version: 2, LiveVersion: 1, Spec: plain}
	for _, c := range []struct {
		who       string
		got, want store.Actions
	}{
		{"owner", f.db.Allowed(alice, changing), store.Actions{Cancel: true, Revoke: true}},
		{"approver", f.db.Allowed(bob, changing), decide},
		{"admin", f.db.Allowed(dave, changing), store.Actions{Approve: true, Reject: true, Revoke: true}},
		{"stranger", f.db.Allowed(mallory, changing), none},
	} {
		if c.got != c.want {
			t.Errorf("pending change, %s: Allowed = %+v, want %+v", c.who, c.got, c.want)
		}
	}
	for _, s := range store.Statuses() {
		w, ok := cases[s]
		if !ok {
			t.Errorf("no case for status %s", s)
			continue
		}
		r := store.Request{ID: 1, Requester: "alice", Status: s, Version: 1, Spec: plain}
		rr := r
		rr.Spec = routed
		for _, c := range []struct {
			who  string
			got  store.Actions
			want store.Actions
		}{
			{"owner", f.db.Allowed(alice, r), w.owner},
			{"owner with every role", f.db.Allowed(ownerAdmin, r), w.ownerAdmin},
			{"approver", f.db.Allowed(bob, r), w.approver},
			{"admin", f.db.Allowed(dave, r), w.admin},
			{"stranger", f.db.Allowed(mallory, r), w.stranger},
			{"group member, not routed", f.db.Allowed(erin, r), w.member},
			{"group member, routed", f.db.Allowed(erin, rr), w.memberRouted},
		} {
			if c.got != c.want {
				t.Errorf("%s, %s: Allowed = %+v, want %+v", s, c.who, c.got, c.want)
			}
		}
	}
}

func TestListRequestsTextAndUpdatedSince(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	t0 := f.clock.Now()
	ledger := newRequest("Ledger-Reader", "alice", read("ledger"))
	ledger.Justification = "month-end close needs 100% of the journal"
	r1 := mustCreate(t, f.db, ledger)
	f.clock.Advance(time.Hour)
	mustCreate(t, f.db, newRequest("reports-reader", "bob_smith"))
	f.clock.Advance(time.Hour)
	approve(t, f.db, carol, r1) // r1 changes last

	names := func(filter store.ListFilter) []string {
		t.Helper()
		page, err := f.db.ListRequests(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range page.Requests {
			out = append(out, r.Spec.Name)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		filter store.ListFilter
		want   []string
	}{
		{"role name, any case", store.ListFilter{Text: "LEDGER"}, []string{"Ledger-Reader"}},
		{"requester", store.ListFilter{Text: "smith"}, []string{"reports-reader"}},
		{"justification", store.ListFilter{Text: "month-end"}, []string{"Ledger-Reader"}},
		{"% is literal", store.ListFilter{Text: "100%"}, []string{"Ledger-Reader"}},
		{"_ is literal", store.ListFilter{Text: "b_s"}, []string{"reports-reader"}},
		{"no match", store.ListFilter{Text: "payroll"}, nil},
		{"text and status", store.ListFilter{Text: "reader", Status: store.StatusPending}, []string{"reports-reader"}},
		{"updated since the start", store.ListFilter{UpdatedSince: t0}, []string{"reports-reader", "Ledger-Reader"}},
		{"updated since the second request", store.ListFilter{UpdatedSince: t0.Add(time.Hour)}, []string{"reports-reader", "Ledger-Reader"}},
		{"updated since after it", store.ListFilter{UpdatedSince: t0.Add(time.Hour + time.Second)}, []string{"Ledger-Reader"}},
		{"updated since now", store.ListFilter{UpdatedSince: f.clock.Now().Add(time.Second)}, nil},
	} {
		if got := names(c.filter); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCountByStatus(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	if got, err := f.db.CountByStatus(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	mustCreate(t, f.db, newRequest("pending-1", "alice"))
	mustCreate(t, f.db, newRequest("pending-2", "alice"))
	approve(t, f.db, bob, mustCreate(t, f.db, newRequest("approved-1", "alice")))
	activate(t, f, mustCreate(t, f.db, newRequest("active-1", "alice")))
	c := mustCreate(t, f.db, newRequest("cancelled-1", "alice"))
	if _, err := f.db.Cancel(ctx, alice, c.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.db.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.Status]int{store.StatusPending: 2, store.StatusApproved: 1, store.StatusActive: 1, store.StatusCancelled: 1}
	if len(got) != len(want) {
		t.Fatalf("CountByStatus = %v, want %v", got, want)
	}
	for s, n := range want {
		if got[s] != n {
			t.Fatalf("CountByStatus = %v, want %v", got, want)
		}
	}
}

func TestListVersionsKeepsEveryDecision(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	t0 := f.clock.Now()
	r := mustCreate(t, f.db, newRequest("exports-writer", "alice", write("exports")))
	if _, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, Comment: "fine by me"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	frank := store.Actor{Name: "frank", Roles: []store.Role{store.RoleApprover}, Groups: []string{"finance", "audit"}}
	r = provisionNow(t, f, approve(t, f.db, frank, r))

	v2 := withScopes(r.Spec, read("exports"))
	if _, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: v2, Justification: "read is enough"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Decide(ctx, carol, r.ID, 2, store.Decision{Approve: false, Comment: "why change?"}); err != nil {
		t.Fatal(err)
	}

	vs, err := f.db.ListVersions(ctx, r.ID)
	if err != nil || len(vs) != 2 {
		t.Fatalf("ListVersions = %+v, %v", vs, err)
	}
	d1, d2 := vs[0].Decisions, vs[1].Decisions
	if len(d1) != 2 || d1[0].Approver != "bob" || !d1[0].Approve || d1[0].Comment != "fine by me" || !d1[0].CreatedAt.Equal(t0) ||
		d1[1].Approver != "frank" || !slices.Equal(d1[1].Groups, []string{"finance", "audit"}) || !d1[1].CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("version 1 decisions = %+v", d1)
	}
	if len(d2) != 1 || d2[0].Approver != "carol" || d2[0].Approve || d2[0].Comment != "why change?" {
		t.Fatalf("version 2 decisions = %+v", d2)
	}
	if vs[0].ApprovedAt == nil || vs[1].ApprovedAt != nil || vs[1].Terraform != "" || vs[1].Justification != "read is enough" {
		t.Fatalf("versions = %+v", vs)
	}
	if _, err := f.db.ListVersions(ctx, 424242); err == nil {
		t.Fatal("ListVersions of a missing request: no error")
	}
}
