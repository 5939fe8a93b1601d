package provision

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// bulkCleanRoles is how many clean roles surround the drifted ones: pages
// of the bulk read on iamlocal, fewer on moto, which is slower and answers
// the bulk read in one page whatever its size. `rolegate bench` checks
// 10,000.
func bulkCleanRoles(e *env) int {
	if e.name == "moto" {
		return 10
	}
	return 150
}

// bulkPageSize makes the bulk reads of the test take several pages.
const bulkPageSize = 50

// TestBulkDryRunFindsEachDriftKind plants each of the 14 drift kinds among
// many clean roles, reads IAM once in bulk, and checks that the dry run
// from the snapshot finds exactly the drifted roles, with the very report
// the per-role dry run gives for every role, and that it read nothing
// role by role except the instance profiles that no longer hold their
// role. A role rolegate did not create is left out of the snapshot and
// refused as the per-role dry run refuses it.
func TestBulkDryRunFindsEachDriftKind(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{{"bulk", func(t *testing.T, e *env) {
		set := e.settings()
		bset := set
		bset.PermissionsBoundaryARN = e.managed
		kinds := driftKinds()
		var plans []Plan
		drifted := map[string]drift{}
		for i, d := range kinds {
			s := set
			if d.boundary {
				s = bset
			}
			p := mustPlan(t, fullSpec(fmt.Sprintf("%s-d%02d", uniqueName(t), i), e.managed), s, testMeta(fmt.Sprintf("REQ-drift-%d", i)))
			plans = append(plans, p)
			drifted[p.Role.Name] = d
		}
		for i := range bulkCleanRoles(e) {
			plans = append(plans, mustPlan(t, fullSpec(fmt.Sprintf("%s-c%04d", uniqueName(t), i), e.managed), set, testMeta(fmt.Sprintf("REQ-clean-%d", i))))
		}
		applyAll(t, NewReconciler(e.admin, ReconcilerOptions{}), plans)
		for _, p := range plans[:len(kinds)] {
			if err := drifted[p.Role.Name].mutate(t, e, p); err != nil {
				t.Fatalf("arranging drift %q: %v", drifted[p.Role.Name].name, err)
			}
		}
		// A role of a plan's name that rolegate did not create.
		foreign := mustPlan(t, fullSpec(uniqueName(t)+"-foreign", e.managed), set, testMeta("REQ-foreign"))
		if _, err := e.admin.CreateRole(ctxT(t), &iam.CreateRoleInput{RoleName: aws.String(foreign.Role.Name), AssumeRolePolicyDocument: aws.String(foreign.Role.TrustPolicy)}); err != nil {
			t.Fatal(err)
		}

		rec := NewReconciler(e.client, ReconcilerOptions{SnapshotPageSize: bulkPageSize})
		snap, err := rec.ReadSnapshot(ctxT(t))
		if err != nil {
			t.Fatalf("ReadSnapshot: %v", err)
		}
		// A page of each bulk read for every bulkPageSize roles, the
		// foreign role and the one "profile holds another role" adds
		// included; moto answers in one page.
		pages := (len(plans) + 2 + bulkPageSize - 1) / bulkPageSize
		if e.name == "moto" {
			pages = 1
		}
		if snap.Calls != 2*pages {
			t.Errorf("the bulk read made %d calls, want %d", snap.Calls, 2*pages)
		}
		// Neither the foreign role nor the one "profile holds another
		// role" adds is rolegate's: the snapshot leaves them out.
		if snap.Len() != len(plans) {
			t.Errorf("snapshot holds %d roles, want the %d rolegate roles", snap.Len(), len(plans))
		}
		if !snap.Holds(plans[len(plans)-1]) || snap.Holds(foreign) {
			t.Errorf("Holds: a clean rolegate role %t, the foreign role %t; want true, false", snap.Holds(plans[len(plans)-1]), snap.Holds(foreign))
		}
		if e.srv != nil {
			e.srv.ResetCounters()
		}
		bulk := make([]Report, len(plans))
		var found []string
		for i, p := range plans {
			if bulk[i], err = rec.DryRunFrom(ctxT(t), snap, p); err != nil {
				t.Fatalf("DryRunFrom %s: %v", p.Role.Name, err)
			}
			if bulk[i].Changed() {
				found = append(found, p.Role.Name)
			}
		}
		if e.srv != nil {
			for _, action := range []string{"GetRole", "ListRoleTags", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies"} {
				if n := e.srv.Calls(action); n != 0 {
					t.Errorf("the dry runs from the snapshot made %d %s calls, want none", n, action)
				}
			}
			if n := e.srv.Calls("GetInstanceProfile"); n != 2 {
				t.Errorf("the dry runs from the snapshot made %d GetInstanceProfile calls, want 2 (the profiles that lost their role)", n)
			}
		}
		// The foreign role is read from IAM and refused as DryRun does.
		_, err = rec.DryRunFrom(ctxT(t), snap, foreign)
		var perm *PermanentError
		if !errors.As(err, &perm) || perm.Code != CodeForeignEntity {
			t.Errorf("DryRunFrom on a role rolegate did not create: %v, want the foreign-entity error", err)
		}
		var want []string
		for name := range drifted {
			want = append(want, name)
		}
		sort.Strings(want)
		sort.Strings(found)
		if !reflect.DeepEqual(found, want) {
			t.Errorf("bulk found drift in %v, want exactly %v", found, want)
		}
		for i, p := range plans {
			live, err := rec.DryRun(ctxT(t), p)
			if err != nil {
				t.Fatalf("DryRun %s: %v", p.Role.Name, err)
			}
			if !reflect.DeepEqual(bulk[i], live) {
				t.Errorf("%s (%s): the bulk report differs from the per-role one:\nbulk:\n%s\nper role:\n%s", p.Role.Name, drifted[p.Role.Name].name, bulk[i], live)
			}
			if d, ok := drifted[p.Role.Name]; ok && !changedKind(bulk[i], d.kind) {
				t.Errorf("drift %q not reported as a change of a %s:\n%s", d.name, d.kind, bulk[i])
			}
		}
	}}})
}

// applyAll applies the plans eight at a time, failing the test on the
// first error.
func applyAll(t *testing.T, rec *Reconciler, plans []Plan) {
	t.Helper()
	work := make(chan Plan)
	errs := make(chan error, len(plans))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if _, err := rec.Apply(ctxT(t), p); err != nil {
					errs <- fmt.Errorf("Apply %s: %w", p.Role.Name, err)
				}
			}
		}()
	}
	for _, p := range plans {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// changedKind reports whether the report changes a resource of kind.
func changedKind(r Report, kind ResourceKind) bool {
	for _, res := range r.Resources {
		if res.Kind == kind && (res.Outcome == OutcomeUpdated || res.Outcome == OutcomeCreated || res.Outcome == OutcomeDeleted) {
			return true
		}
	}
	return false
}
