package store_test

import (
	"errors"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// moved are settings of another name prefix and role path than the
// defaults.
func moved() provision.Settings {
	set := provision.DefaultSettings()
	set.NamePrefix, set.RolePath = "team-", "/moved/"
	return set
}

// beginAndFail begins provisioning r on db and fails it (IAM refused
// part-way), returning the ARN BeginProvisioning fixed.
func beginAndFail(t *testing.T, db *store.DB, r store.Request) string {
	t.Helper()
	w, err := db.BeginProvisioning(ctxT(t), r.ID, r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FailProvisioning(ctxT(t), r.ID, r.Version, "IAM refused part-way"); err != nil {
		t.Fatal(err)
	}
	return w.Request.PlannedRoleARN
}

// TestBegunRoleKeepsItsNameUnderANewPrefix: the first BeginProvisioning
// fixes the role's name and path in IAM (before any IAM write); a request
// that failed after it is planned under them by every later plan, under
// any name prefix and role path: the retry's, the page's, the revocation's,
// and it goes live under them. So does one approved, and not begun, when
// the settings change: it is created under the name its approvers saw.
// One approved after the change gets the new ones.
func TestBegunRoleKeepsItsNameUnderANewPrefix(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	plain := storetest.Open(t, url, store.Options{})
	r := approve(t, plain, bob, mustCreate(t, plain, newRequest("begun", "alice")))
	notBegun := approve(t, plain, bob, mustCreate(t, plain, newRequest("not-begun", "alice")))
	pending := mustCreate(t, plain, newRequest("pending", "alice"))
	const want = "arn:aws:iam::*:role/rolegate/begun"
	if got := beginAndFail(t, plain, r); got != want {
		t.Fatalf("BeginProvisioning fixed %q, want %q", got, want)
	}

	set := moved()
	team := storetest.Open(t, url, store.Options{Settings: &set})
	failed := mustGet(t, team, r.ID)
	if failed.PlannedRoleARN != want || failed.KeptRoleARN() != want {
		t.Fatalf("stored: planned %q, kept %q; want %q", failed.PlannedRoleARN, failed.KeptRoleARN(), want)
	}
	versions, err := team.ListVersions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := store.PlanOf(store.WorkOf(failed, versions[0]), team.Settings())
	if err != nil {
		t.Fatal(err)
	}
	if page.RoleARN() != want || page.InstanceProfile.Name != "begun" || page.InstanceProfile.Path != "/rolegate/" {
		t.Errorf("the failed request is planned as %s (profile %s%s), want %s", page.RoleARN(),
			page.InstanceProfile.Path, page.InstanceProfile.Name, want)
	}

	if _, err := team.Retry(ctx, dave, r.ID); err != nil {
		t.Fatal(err)
	}
	w, err := team.BeginProvisioning(ctx, r.ID, r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if w.Request.PlannedRoleARN != want {
		t.Errorf("the retry's BeginProvisioning fixed %q again, want %q kept", w.Request.PlannedRoleARN, want)
	}
	storetest.Provision(t, team, r.ID, r.Version)
	if got := mustGet(t, team, r.ID); got.RoleARN != want || got.PlannedRoleARN != want {
		t.Errorf("live as %q (planned %q), want %q", got.RoleARN, got.PlannedRoleARN, want)
	}

	storetest.Provision(t, team, notBegun.ID, notBegun.Version)
	if got := mustGet(t, team, notBegun.ID); got.RoleARN != "arn:aws:iam::*:role/rolegate/not-begun" {
		t.Errorf("a request approved, not begun, before the change went live as %q, want it under the name it was approved with", got.RoleARN)
	}
	pending = approve(t, team, bob, pending)
	storetest.Provision(t, team, pending.ID, pending.Version)
	if got := mustGet(t, team, pending.ID); got.RoleARN != "arn:aws:iam::*:role/moved/team-pending" {
		t.Errorf("a request approved after the change went live as %q, want it under the new settings", got.RoleARN)
	}
}

// TestBegunRoleNameFixedOnceByRacingWorkers: two workers of different
// settings beginning the same provisioning at once fix one name, and
// both plan under it.
func TestBegunRoleNameFixedOnceByRacingWorkers(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	plain := storetest.Open(t, url, store.Options{})
	set := moved()
	dbs := []*store.DB{plain, storetest.Open(t, url, store.Options{Settings: &set})}
	r := approve(t, plain, bob, mustCreate(t, plain, newRequest("raced", "alice")))
	var fixed [2]string
	storetest.AtOnce(2, func(i int) {
		w, err := dbs[i].BeginProvisioning(ctxT(t), r.ID, r.Version)
		// The one that waited for the other's row lock may find the
		// other's repair lock not released yet; the worker snoozes then.
		for n := 0; errors.Is(err, store.ErrRepairRunning) && n < 100; n++ {
			w, err = dbs[i].BeginProvisioning(ctxT(t), r.ID, r.Version)
		}
		if err != nil {
			t.Error(err)
			return
		}
		p, err := store.PlanOf(w, dbs[i].Settings())
		if err != nil {
			t.Error(err)
			return
		}
		fixed[i] = p.RoleARN()
	})
	stored := mustGet(t, plain, r.ID).PlannedRoleARN
	if stored == "" || fixed[0] != stored || fixed[1] != stored {
		t.Errorf("the workers planned %q and %q; stored %q", fixed[0], fixed[1], stored)
	}
}

// TestNewRoleNamedInIAMAsABegunRoleOfAnotherPrefix: the name fixed for a
// role approved, or whose provisioning began, under an earlier name
// prefix (it may have been created in IAM, and a retry completes it under
// that name) is taken for a new request as a live role's is; a pending
// request's is not fixed yet.
func TestNewRoleNamedInIAMAsABegunRoleOfAnotherPrefix(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := ctxT(t)
	plain := storetest.Open(t, url, store.Options{})
	beginAndFail(t, plain, approve(t, plain, bob, mustCreate(t, plain, newRequest("team-x", "alice"))))
	approve(t, plain, bob, mustCreate(t, plain, newRequest("team-y", "alice"))) // approved: it keeps team-y
	mustCreate(t, plain, newRequest("team-z", "alice"))                         // pending: it will be team-team-z

	set := provision.DefaultSettings()
	set.NamePrefix = "team-"
	team := storetest.Open(t, url, store.Options{Settings: &set})
	const want = `with the name prefix "team-" this role would be named "team-x" in IAM, the name of another request's role created under an earlier name prefix; choose another name`
	if got := nameProblem(t, team, newRequest("x", "mallory")); got != want {
		t.Errorf("new request x under the prefix team-: %q, want %q", got, want)
	}
	if got, err := team.IAMNameTaken(ctx, "", "x"); err != nil || got != want {
		t.Errorf("IAMNameTaken(x) = %q, %v; want %q", got, err, want)
	}
	if got, err := team.IAMNameTaken(ctx, "", "y"); err != nil || got == "" {
		t.Errorf("IAMNameTaken(y) = %q, %v; want it taken by the approved team-y", got, err)
	}
	if got, err := team.IAMNameTaken(ctx, "", "z"); err != nil || got != "" {
		t.Errorf("IAMNameTaken(z) = %q, %v; want it free", got, err)
	}
	mustCreate(t, team, newRequest("z", "mallory"))
}
