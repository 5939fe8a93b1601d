package store_test

import (
	"errors"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// nameProblem creates in on db and returns the problem CreateRequest
// gives at "name", failing the test for any other answer.
func nameProblem(t *testing.T, db *store.DB, in store.NewRequest) string {
	t.Helper()
	_, err := db.CreateRequest(ctxT(t), in)
	var verr *provision.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Field != "name" {
		t.Fatalf("CreateRequest(%s) = %v, want one problem at name", in.Spec.Name, err)
	}
	return verr.Problems[0].Message
}

// live creates, approves and provisions a role named name on db.
func live(t *testing.T, db *store.DB, name string) store.Request {
	t.Helper()
	r := approve(t, db, bob, mustCreate(t, db, newRequest(name, "alice")))
	storetest.Provision(t, db, r.ID, r.Version)
	return mustGet(t, db, r.ID)
}

// TestNewRoleNamedInIAMAsALiveRoleOfAnotherPrefix: after the name prefix
// changes, a new request whose name in IAM (the new prefix and its name)
// is, ignoring case, the name of a live role created under the old prefix
// is refused at its name when it is created, naming that IAM name, instead
// of failing at provisioning as someone else's role; the preview's
// question says the same. A role not live (it will get the new prefix too)
// or ended holds no IAM name; a role of the same role name is the unique
// role name's to refuse, as before.
func TestNewRoleNamedInIAMAsALiveRoleOfAnotherPrefix(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	plain := storetest.Open(t, url, store.Options{})
	live(t, plain, "team-x")
	mustCreate(t, plain, newRequest("team-pending", "alice"))
	gone := live(t, plain, "team-gone")
	if _, err := plain.Revoke(ctx, alice, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.BeginRevocation(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.CompleteRevocation(ctx, gone.ID, nil); err != nil {
		t.Fatal(err)
	}

	set := provision.DefaultSettings()
	set.NamePrefix = "team-"
	team := storetest.Open(t, url, store.Options{Settings: &set})
	for _, name := range []string{"x", "X"} {
		want := `with the name prefix "team-" this role would be named "team-` + name +
			`" in IAM, the name of another request's role created under an earlier name prefix; choose another name`
		if got := nameProblem(t, team, newRequest(name, "mallory")); got != want {
			t.Errorf("new request %q under the prefix team-: %q, want %q", name, got, want)
		}
		if got, err := team.IAMNameTaken(ctx, "", name); err != nil || got != want {
			t.Errorf("IAMNameTaken(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"pending", "gone", "y"} {
		if got, err := team.IAMNameTaken(ctx, "", name); err != nil || got != "" {
			t.Errorf("IAMNameTaken(%q) = %q, %v; want it free", name, got, err)
		}
		mustCreate(t, team, newRequest(name, "mallory"))
	}
	_, err := team.CreateRequest(ctx, newRequest("TEAM-X", "mallory"))
	wantErr(t, err, store.ErrConflict, `a role named "TEAM-X" is already requested or live`)

	// And back: the role z goes live as team-z, which a request under no
	// prefix may not be named.
	live(t, team, "z")
	want := `this role would be named "Team-Z" in IAM, the name of another request's role created under an earlier name prefix; choose another name`
	if got := nameProblem(t, plain, newRequest("Team-Z", "mallory")); got != want {
		t.Errorf("new request Team-Z under no prefix: %q, want %q", got, want)
	}
}

// TestIAMNameTakenPerAccount: an IAM name is taken in the account its role
// lives in; with several accounts the problem names it.
func TestIAMNameTakenPerAccount(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	set := storetest.TwoAccounts()
	accounts := storetest.Open(t, url, store.Options{Settings: &set})
	live(t, accounts, "team-x")
	prefix := "team-"
	set.Accounts[0].NamePrefix = &prefix
	set.Accounts[1].NamePrefix = &prefix
	team := storetest.Open(t, url, store.Options{Settings: &set})
	want := `with the name prefix "team-" this role would be named "team-x" in IAM, the name of another request's role in account dev created under an earlier name prefix; choose another name`
	if got := nameProblem(t, team, inAccount(newRequest("x", "mallory"), "dev")); got != want {
		t.Errorf("x in dev: %q, want %q", got, want)
	}
	if got, err := team.IAMNameTaken(ctx, "prod", "x"); err != nil || got != "" {
		t.Errorf("IAMNameTaken(prod, x) = %q, %v; want it free", got, err)
	}
	mustCreate(t, team, inAccount(newRequest("x", "mallory"), "prod"))
}
