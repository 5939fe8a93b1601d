package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// accountSettings are storetest.TwoAccounts with prod asking for more
// approvals.
func accountSettings() provision.Settings {
	set := storetest.TwoAccounts()
	set.Accounts[1].Approvals, set.Accounts[1].ApprovalsElevated = 2, 3
	return set
}

// setupAccounts marks the test parallel and returns a fixture with the
// two accounts and a context that ends with the test.
func setupAccounts(t *testing.T) (fixture, context.Context) {
	t.Helper()
	set := accountSettings()
	return setup(t, store.Options{Settings: &set})
}

func inAccount(in store.NewRequest, account string) store.NewRequest {
	in.Spec.Account = account
	return in
}

func TestRequestsLiveInTheirAccount(t *testing.T) {
	f, ctx := setupAccounts(t)
	dev := mustCreate(t, f.db, newRequest("etl-reader", "alice"))
	if dev.Spec.Account != "dev" {
		t.Fatalf("a request naming no account is in %q, want the default account's name dev", dev.Spec.Account)
	}
	// The same name in another account is another role.
	prod := mustCreate(t, f.db, inAccount(newRequest("ETL-reader", "alice"), "prod"))
	if prod.Spec.Account != "prod" {
		t.Fatalf("account = %q", prod.Spec.Account)
	}
	_, err := f.db.CreateRequest(ctx, inAccount(newRequest("etl-READER", "mallory"), "prod"))
	wantErr(t, err, store.ErrConflict, "in account prod")
	var ve *provision.ValidationError
	if _, err := f.db.CreateRequest(ctx, inAccount(newRequest("other", "alice"), "staging")); !errors.As(err, &ve) || ve.Problems[0].Field != "account" {
		t.Fatalf("unknown account: %v, want a problem at account", err)
	}
	for _, tc := range []struct {
		account string
		except  int64
		want    bool
	}{{"dev", 0, true}, {"", 0, true}, {"prod", 0, true}, {"prod", prod.ID, false}, {"dev", prod.ID, true}} {
		if got, err := f.db.RoleNameTaken(ctx, tc.account, "etl-reader", tc.except); err != nil || got != tc.want {
			t.Errorf("RoleNameTaken(%q, etl-reader, %d) = %v, %v; want %v", tc.account, tc.except, got, err, tc.want)
		}
	}
	// Read back with its account, so its plan is built in it.
	got, err := f.db.GetRequest(ctx, prod.ID)
	if err != nil || got.Spec.Account != "prod" {
		t.Fatalf("GetRequest = %+v, %v", got.Spec, err)
	}
	versions, err := f.db.ListVersions(ctx, prod.ID)
	if err != nil || versions[0].Spec.Account != "prod" {
		t.Fatalf("ListVersions = %+v, %v", versions, err)
	}
	plan, err := store.PlanOf(store.WorkOf(got, versions[0]), f.db.Settings())
	if err != nil || plan.RoleARN() != "arn:aws:iam::222222222222:role/rolegate/ETL-reader" {
		t.Fatalf("plan ARN %s, %v; want prod's account ID", plan.RoleARN(), err)
	}
	// The submitted event says the account.
	events, err := f.db.ListEvents(ctx, store.EventFilter{RequestID: prod.ID, Kind: store.EventSubmitted, Limit: 1})
	if err != nil || len(events) != 1 || events[0].Data["account"] != "prod" {
		t.Fatalf("submitted event = %+v, %v", events, err)
	}
	// Listed and found by account.
	for _, tc := range []struct {
		f    store.ListFilter
		want int64
	}{{store.ListFilter{Account: "prod"}, prod.ID}, {store.ListFilter{Account: "dev"}, dev.ID}, {store.ListFilter{Text: "pro"}, prod.ID}} {
		page, err := f.db.ListRequests(ctx, tc.f)
		if err != nil || len(page.Requests) != 1 || page.Requests[0].ID != tc.want {
			t.Errorf("ListRequests(%+v) = %+v, %v; want request %d alone", tc.f, page.Requests, err, tc.want)
		}
	}
}

func TestChangeStaysInItsAccount(t *testing.T) {
	f, ctx := setupAccounts(t)
	r := mustCreate(t, f.db, inAccount(newRequest("reader", "alice"), "prod"))
	r = approve(t, f.db, carol, approve(t, f.db, bob, r)) // prod needs two
	r = provisionNow(t, f, r)
	nv := store.NewVersion{Spec: withScopes(r.Spec, read("other-bucket")), Justification: "more"}
	nv.Spec.Account = "dev"
	var ve *provision.ValidationError
	if _, err := f.db.RequestChange(ctx, alice, r.ID, nv); !errors.As(err, &ve) || ve.Problems[0].Field != "account" ||
		!strings.Contains(ve.Problems[0].Message, "a role cannot move to another account") {
		t.Fatalf("change into dev: %v, want a problem at account", err)
	}
	nv.Spec.Account = "staging"
	if _, err := f.db.RequestChange(ctx, alice, r.ID, nv); !errors.As(err, &ve) || ve.Problems[0].Field != "account" ||
		!strings.HasPrefix(ve.Problems[0].Message, `there is no account named "staging"`) {
		t.Fatalf("change into an unknown account: %v, want the account called unknown", err)
	}
	// Naming no account keeps the role's.
	nv.Spec.Account = ""
	changed, err := f.db.RequestChange(ctx, alice, r.ID, nv)
	if err != nil || changed.Spec.Account != "prod" {
		t.Fatalf("change = %+v, %v; want it in prod", changed.Spec, err)
	}
}

func TestReuseOnlyWithinTheAccount(t *testing.T) {
	f, ctx := setupAccounts(t)
	r := activate(t, f, mustCreate(t, f.db, newRequest("dev-reader", "alice")))
	scopes := r.Spec.Buckets
	for _, tc := range []struct {
		account string
		want    int
	}{{"dev", 1}, {"", 1}, {"prod", 0}, {"nowhere", 0}} {
		got, err := f.db.ReusableRoles(ctx, alice, "alice", tc.account, scopes, 0)
		if err != nil || len(got) != tc.want {
			t.Errorf("ReusableRoles in %q = %+v, %v; want %d", tc.account, got, err, tc.want)
		}
	}
}

func TestAccountApprovalsAndRoutes(t *testing.T) {
	t.Parallel()
	accounts := accountSettings().Accounts
	rules := store.ApprovalRules{Required: 1, Elevated: 2, Accounts: accounts,
		Routes: []store.Route{{Pattern: "account:prod", Group: "prod-owners"}, {Pattern: "account:d*", Group: "dev-owners"}, financeRoute}}
	for _, tc := range []struct {
		name    string
		account string
		scopes  []provision.BucketScope
		want    int
		groups  string
	}{
		{"default account reads", "", []provision.BucketScope{read("data")}, 1, "dev-owners"},
		{"dev writes", "dev", []provision.BucketScope{write("data")}, 2, "dev-owners"},
		{"prod reads: its own count", "prod", []provision.BucketScope{read("data")}, 2, "prod-owners"},
		{"prod writes: its own elevated count", "prod", []provision.BucketScope{write("finance-x")}, 3, "finance,prod-owners"},
	} {
		need := rules.Need(provision.RoleSpec{Name: "r", Account: tc.account, Buckets: tc.scopes})
		if need.Approvals != tc.want || strings.Join(need.Groups, ",") != tc.groups {
			t.Errorf("%s: Need = %+v, want %d approvals and %s", tc.name, need, tc.want, tc.groups)
		}
	}
	for _, tc := range []struct {
		pattern string
		err     string
	}{
		{"account:prod", ""},
		{"account:p*", ""},
		{"account:staging", `no account matches "staging"; the accounts are dev, prod`},
		{"account:", "want PATTERN=GROUP"},
		{"account:Prod", "lower-case"},
	} {
		err := store.ApprovalRules{Accounts: accounts, Routes: []store.Route{{Pattern: tc.pattern, Group: "g"}}}.Validate()
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Validate(%s) = %v, want %q", tc.pattern, err, tc.err)
		}
	}
	// No accounts configured: the one account is "default".
	if err := (store.ApprovalRules{Routes: []store.Route{{Pattern: "account:default", Group: "g"}}}).Validate(); err != nil {
		t.Errorf("account:default without accounts: %v", err)
	}
}

// TestAccountRouteGivesDataOwnersTheRequest: a member of a group an
// account is routed to sees and decides the requests into it, and only
// those, on the dashboard too.
func TestAccountRouteGivesDataOwnersTheRequest(t *testing.T) {
	set := accountSettings()
	f, ctx := setup(t, store.Options{Settings: &set, Rules: store.ApprovalRules{Routes: []store.Route{{Pattern: "account:prod", Group: "prod-owners"}}}})
	owner := store.Actor{Name: "olga", Roles: []store.Role{store.RoleRequester}, Groups: []string{"prod-owners"}}
	prod := mustCreate(t, f.db, inAccount(newRequest("p", "alice"), "prod"))
	dev := mustCreate(t, f.db, newRequest("d", "alice"))
	if !f.db.MayView(owner, prod) || f.db.MayView(owner, dev) {
		t.Fatal("prod's owner should see the prod request and not the dev one")
	}
	page, err := f.db.ListRequests(ctx, store.ListFilter{DecidableBy: &owner})
	if err != nil || len(page.Requests) != 1 || page.Requests[0].ID != prod.ID {
		t.Fatalf("owner's queue = %+v, %v", page.Requests, err)
	}
	counts, err := f.db.CountRoutedByStatus(ctx, owner)
	if err != nil || counts[store.StatusPending] != 1 {
		t.Fatalf("routed counts = %v, %v", counts, err)
	}
	got, err := f.db.Decide(ctx, owner, prod.ID, 1, store.Decision{Approve: true})
	if err != nil || len(got.Decisions) != 1 {
		t.Fatalf("owner's approval: %+v, %v", got.Decisions, err)
	}
}

func TestCheckAccountsRefusesAMissingAccount(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	// Filed with no accounts file: the default account.
	single := storetest.Open(t, url, store.Options{})
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, mustCreate(t, single, newRequest(name, "alice")).ID)
	}
	if _, err := single.Cancel(ctx, alice, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := single.CheckAccounts(ctx); err != nil {
		t.Fatalf("no accounts file: %v", err)
	}
	set := accountSettings()
	multi := storetest.Open(t, url, store.Options{Settings: &set})
	err := multi.CheckAccounts(ctx)
	want := `requests 1, 3 name account "default", which the accounts file does not list: name the account they live in "default" in the file`
	if err == nil || err.Error() != want {
		t.Fatalf("CheckAccounts = %v\nwant %s", err, want)
	}
	set.Accounts[0].Name = "default"
	if err := storetest.Open(t, url, store.Options{Settings: &set}).CheckAccounts(ctx); err != nil {
		t.Fatalf("with default listed: %v", err)
	}
}

// An account whose ID the accounts file changes while a role lives in it
// is refused: rolegate would act in the new account, where a revocation
// finds nothing to remove and a drift repair creates the role again, while
// the live role stays in the old one.
func TestCheckAccountsRefusesAChangedAccountID(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	set := storetest.TwoAccounts()
	db := storetest.Open(t, url, store.Options{Settings: &set})
	r := approve(t, db, bob, mustCreate(t, db, inAccount(newRequest("moved", "alice"), "prod")))
	storetest.Provision(t, db, r.ID, r.Version)
	mustCreate(t, db, inAccount(newRequest("pending", "alice"), "prod")) // nothing in IAM yet
	if err := db.CheckAccounts(ctx); err != nil {
		t.Fatalf("unchanged accounts: %v", err)
	}
	moved := storetest.TwoAccounts()
	moved.Accounts[1].ID, moved.Accounts[1].RoleARN = "333333333333", "arn:aws:iam::333333333333:role/rolegate-provisioner"
	err := storetest.Open(t, url, store.Options{Settings: &moved}).CheckAccounts(ctx)
	want := `request 1 has its role in account 222222222222, but the accounts file gives its account "prod" the ID 333333333333: ` +
		`give "prod" the ID 222222222222 again (an account's roles cannot move to another)`
	if err == nil || err.Error() != want {
		t.Fatalf("CheckAccounts = %v\nwant %s", err, want)
	}
}

// TestAccountMigrationKeepsExistingRequests: migration 00013 puts the
// requests stored before it in the default account and lets one role
// name live in two accounts; going down and up again keeps them.
func TestAccountMigrationKeepsExistingRequests(t *testing.T) {
	db, ctx := setupBelow(t, 13)
	if _, err := db.Pool().Exec(ctx, `
		BEGIN;
		SET CONSTRAINTS ALL DEFERRED;
		INSERT INTO requests (id, role_name, requester, status, version) OVERRIDING SYSTEM VALUE VALUES (1, 'old-reader', 'alice', 'pending', 1);
		INSERT INTO request_versions (request_id, version, justification, created_by, search_doc)
		VALUES (1, 1, 'why', 'alice', request_search_doc('old-reader', 'alice', 'why', '{alpha}', '{""}'));
		INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access) VALUES (1, 1, 0, 'alpha', '', 'read');
		SELECT setval(pg_get_serial_sequence('requests', 'id'), 1);
		COMMIT`); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		var account, doc string
		if err := db.Pool().QueryRow(ctx, `SELECT r.account, v.search_doc FROM requests r JOIN request_versions v ON v.request_id = r.id WHERE r.id = 1`).Scan(&account, &doc); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if account != "default" || doc != "default\nold-reader\nalice\nwhy\nalpha/" {
			t.Fatalf("%s: account %q, search document %q", stage, account, doc)
		}
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("up")
	migrateDownBelow(t, db, 13)
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("down and up")
	// One name in two accounts, and no account the database refuses.
	if _, err := db.Pool().Exec(ctx, `
		BEGIN;
		SET CONSTRAINTS ALL DEFERRED;
		INSERT INTO requests (id, account, role_name, requester, status, version) OVERRIDING SYSTEM VALUE VALUES (2, 'prod', 'OLD-reader', 'alice', 'pending', 1);
		INSERT INTO request_versions (request_id, version, justification, created_by, search_doc) VALUES (2, 1, 'why', 'alice', '');
		COMMIT`); err != nil {
		t.Fatalf("same name in another account: %v", err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE requests SET account = 'Bad Name' WHERE id = 2`); err == nil {
		t.Fatal("the database took a malformed account name")
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO requests (role_name, requester) VALUES ('x', 'alice')`); err == nil {
		t.Fatal("the database took a request naming no account")
	}
}

// A live role keeps its name when the name prefix changes (IAM cannot
// rename it), so a change to it is judged under the name it has: one
// that would be too long under the new prefix may still be changed.
func TestChangeOfALiveRoleKeepsItsNameUnderANewPrefix(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	db := storetest.Open(t, url, store.Options{})
	name := strings.Repeat("n", 62)
	r := approve(t, db, bob, mustCreate(t, db, newRequest(name, "alice")))
	storetest.Provision(t, db, r.ID, r.Version)
	set := provision.DefaultSettings()
	set.NamePrefix = "team-"
	renamed := storetest.Open(t, url, store.Options{Settings: &set})
	spec := mustGet(t, renamed, r.ID).Spec
	spec.Description = "a better description"
	spec.Buckets[0].Prefix = "reports/"
	changed, err := renamed.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: spec, Justification: "only the reports"})
	if err != nil {
		t.Fatalf("change of the live role under the new prefix: %v", err)
	}
	// Approvers see the change judged under that name too: its access
	// change, its policy diff and its assessment.
	events, err := renamed.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventChangeSubmitted})
	if err != nil || len(events) != 1 {
		t.Fatalf("change events: %v, %v", events, err)
	}
	if d := events[0].Data; d["access_change"] == nil || d["no_new_access"] != true || d["policy_diff"] == nil {
		t.Errorf("the change event under the new prefix lacks its verdict or diff: %v", d)
	}
	as, err := renamed.Assess(ctx, bob, []store.Request{changed})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := as[r.ID]; !ok || a.Change == nil || !a.Change.Narrowing.NoNewAccess {
		t.Errorf("the change under the new prefix is not assessed: %+v (assessed %v)", a, ok)
	}
	changed = approve(t, renamed, bob, changed)
	storetest.Provision(t, renamed, r.ID, changed.Version)
	if got := mustGet(t, renamed, r.ID); got.LiveVersion != 2 || !strings.HasSuffix(got.RoleARN, "/rolegate/"+name) {
		t.Fatalf("after the change: live version %d, role %s", got.LiveVersion, got.RoleARN)
	}
	// A new request is judged under the new prefix.
	var verr *provision.ValidationError
	if _, err := renamed.CreateRequest(ctx, newRequest(strings.Repeat("m", 62), "alice")); !errors.As(err, &verr) {
		t.Fatalf("a new request of 62 characters under a prefix of 5: %v, want invalid", err)
	}
}
