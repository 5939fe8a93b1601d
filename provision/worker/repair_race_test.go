package worker_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// repairHeld starts a drift check with repair whose IAM endpoint holds the
// repair's first call of action (a write, so the repair has checked that
// the request is live and sent it), and returns once that call is held,
// with the function that lets it through and waits for the check's result.
func repairHeld(t *testing.T, e *env, action string) func() ([]worker.DriftResult, error) {
	t.Helper()
	g := &gate{action: action, open: make(chan struct{}), held: make(chan struct{}, 1), next: e.iam}
	hs := httptest.NewServer(g)
	t.Cleanup(hs.Close)
	type result struct {
		found []worker.DriftResult
		err   error
	}
	done := make(chan result, 1)
	go func() {
		found, err := worker.CheckDrift(context.Background(), e.db, provision.SingleAccount(fastReconciler(t, hs.URL)), e.cfg.Settings, true)
		done <- result{found, err}
	}()
	select {
	case <-g.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("the drift repair never called %s", action)
	}
	return func() ([]worker.DriftResult, error) {
		close(g.open)
		res := <-done
		return res.found, res.err
	}
}

// jobsIdle waits until River has recorded the end of every provisioning
// job (a moment after the request is active): until then a revocation
// waits for the job, whatever else runs.
func (e *env) jobsIdle() {
	e.t.Helper()
	eventually(e.t, func() (bool, string) {
		var running bool
		if err := e.db.Pool().QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM river_job
			WHERE kind = 'provision' AND state = 'running')`).Scan(&running); err != nil {
			e.t.Fatal(err)
		}
		return !running, "a provisioning job is still running"
	})
}

// snoozed is how often the jobs of kind for request id have been snoozed.
func (e *env) snoozed(kind string, id int64) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT coalesce(max((metadata->>'snoozes')::int), 0) FROM river_job
		WHERE kind = $1 AND (args->>'request_id')::bigint = $2`, kind, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// A drift repair that found the role gone and is creating it again when
// the role is revoked must not leave it in IAM: the revocation waits for
// the repair, and the repair writes nothing more once the request is no
// longer live. A revoked role never comes back.
func TestDriftRepairOvertakenByRevocation(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("repaired-late")
	e.jobsIdle()
	// Someone deletes the role by hand: the repair creates it again.
	e.deleteRoleByHand("repaired-late")
	finish := repairHeld(t, e, "CreateRole")
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	// The revocation job runs while the repair's CreateRole is in flight:
	// it either removes what it finds (and the role comes after) or waits.
	eventually(t, func() (bool, string) {
		got, err := e.db.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.snoozed("revoke", r.ID) > 0 || got.Status == store.StatusRevoked,
			fmt.Sprintf("the revocation job neither waited nor ran (request %s)", got.Status)
	})
	found, err := finish()
	if err != nil {
		t.Fatalf("drift check: %v", err)
	}
	e.await(r.ID, store.StatusRevoked)
	if e.roleExists("repaired-late") || e.profileExists("repaired-late") {
		t.Fatalf("the revoked role is in IAM again (the repair reported %+v)", found)
	}
}

// A drift repair of version 1 in flight when version 2 is approved must not
// undo what version 2's provisioning writes: the provisioning waits for
// the repair.
func TestDriftRepairDoesNotUndoAChange(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("changed-meanwhile")
	e.jobsIdle()
	if _, err := e.api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("changed-meanwhile"), Description: aws.String("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	finish := repairHeld(t, e, "UpdateRole")
	spec := r.Spec
	spec.Description = "version 2"
	changed, err := e.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: spec, Justification: "a better description"})
	if err != nil {
		t.Fatal(err)
	}
	e.approve(changed)
	eventually(t, func() (bool, string) {
		got, err := e.db.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.snoozed("provision", r.ID) > 0 || (got.Status == store.StatusActive && got.LiveVersion == 2),
			fmt.Sprintf("the provisioning job neither waited nor ran (request %s)", got.Status)
	})
	if _, err := finish(); err != nil {
		t.Fatalf("drift check: %v", err)
	}
	got := e.await(r.ID, store.StatusActive)
	for got.LiveVersion != 2 {
		got = e.await(r.ID, store.StatusActive)
	}
	role, err := e.api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("changed-meanwhile")})
	if err != nil {
		t.Fatal(err)
	}
	if d := aws.ToString(role.Role.Description); d != "version 2" {
		t.Fatalf("version 2 is live but the role's description is %q", d)
	}
}
