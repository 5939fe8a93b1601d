package provision

import (
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// createWrites are the write calls of a first provisioning of fullSpec.
var createWrites = []string{"CreateRole", "PutRolePolicy", "AttachRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"}

// destroyWrites are the write calls of destroying fullSpec's resources.
var destroyWrites = []string{"RemoveRoleFromInstanceProfile", "DeleteInstanceProfile", "DeleteRolePolicy", "DetachRolePolicy", "DeleteRole"}

// TestLostAnswers: IAM carries out a write but its answer is lost (a 5xx
// or a reset connection after the change), so the client's retryer sends
// the call again and IAM answers the repeat as a repeat: EntityAlreadyExists,
// NoSuchEntity, or LimitExceeded for a role added to the profile that
// already holds it. Each write of a first provisioning (fresh or reading
// first), of every drift repair and of a destroy is lost once in turn;
// each run still succeeds, and IAM then holds exactly the plan, or nothing
// of it.
//
// A repeated RemoveRoleFromInstanceProfile runs against iamlocal only:
// IAM answers it NoSuchEntity, which the reconciler counts as done, but
// moto fails with a 500 (its remove_role_from_instance_profile raises
// ValueError for a role the profile does not hold).
func TestLostAnswers(t *testing.T) {
	t.Parallel()
	var scenarios, localOnly []scenario
	add := func(action string, sc scenario) {
		if action == "RemoveRoleFromInstanceProfile" {
			localOnly = append(localOnly, sc)
		} else {
			scenarios = append(scenarios, sc)
		}
	}
	for _, action := range createWrites {
		for _, fresh := range []bool{true, false} {
			name := "create loses " + action
			if fresh {
				name += " (fresh)"
			}
			add(action, scenario{name, func(t *testing.T, e *env) {
				p := planFor(t, e)
				e.faults.loseNext(action)
				if _, err := e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: fresh}); err != nil {
					t.Fatalf("Apply with the answer of %s lost: %v", action, err)
				}
				assertConverged(t, e, p)
			}})
		}
	}
	for _, d := range driftKinds() {
		for _, action := range slices.Sorted(func(yield func(string) bool) {
			for a, n := range d.calls {
				if n > 0 && !isRead(a) && !yield(a) {
					return
				}
			}
		}) {
			add(action, scenario{"repair of " + d.name + " loses " + action, func(t *testing.T, e *env) {
				set := e.settings()
				if d.boundary {
					set.PermissionsBoundaryARN = e.managed
				}
				p := mustPlan(t, fullSpec(uniqueName(t), e.managed), set, testMeta("REQ-lost"))
				if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if err := d.mutate(t, e, p); err != nil {
					t.Fatalf("arranging drift: %v", err)
				}
				e.faults.loseNext(action)
				if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
					t.Fatalf("repairing Apply with the answer of %s lost: %v", action, err)
				}
				assertConverged(t, e, p)
			}})
		}
	}
	for _, action := range destroyWrites {
		add(action, scenario{"destroy loses " + action, func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			e.faults.loseNext(action)
			if _, err := e.reconciler().Destroy(ctxT(t), p); err != nil {
				t.Fatalf("Destroy with the answer of %s lost: %v", action, err)
			}
			if _, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); !isNoSuchEntity(err) {
				t.Errorf("GetRole after Destroy: err = %v, want NoSuchEntity", err)
			}
			if _, err := e.admin.GetInstanceProfile(ctxT(t), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name)}); !isNoSuchEntity(err) {
				t.Errorf("GetInstanceProfile after Destroy: err = %v, want NoSuchEntity", err)
			}
		}})
	}
	runScenarios(t, scenarios)
	for _, sc := range localOnly {
		t.Run("iamlocal only/"+sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, newLocalEnv(t, iamlocal.Options{}))
		})
	}
}

// isRead reports whether an IAM action only reads.
func isRead(action string) bool {
	return len(action) > 3 && (action[:3] == "Get" || action[:4] == "List")
}

// TestPlaceRoleAfterAStaleRead: the read before placing the role did not
// show the role its instance profile holds (IAM had not caught up with an
// add made by a run that stopped), so the add meets LimitExceeded. When
// the profile holds the plan's role that is done; when it holds another,
// the apply fails retryably, and the next one takes that role out and
// puts the plan's in.
func TestPlaceRoleAfterAStaleRead(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"the profile holds the plan's role", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			x := &run{r: e.reconciler(), plan: p}
			if _, err := x.placeRole(ctxT(t), nil, false, false); err != nil {
				t.Fatalf("placing the role the profile holds: %v", err)
			}
			assertConverged(t, e, p)
		}},
		{"the profile holds another role", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			i := slices.IndexFunc(driftKinds(), func(d drift) bool { return d.name == "profile holds another role" })
			if err := driftKinds()[i].mutate(t, e, p); err != nil {
				t.Fatalf("arranging drift: %v", err)
			}
			x := &run{r: e.reconciler(), plan: p}
			_, err := x.placeRole(ctxT(t), nil, false, false)
			if !errors.Is(err, errProfileTaken) || !IsRetryable(err) {
				t.Fatalf("placing the role in a profile another holds: err = %v, want a retryable errProfileTaken", err)
			}
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply after: %v", err)
			}
			assertConverged(t, e, p)
		}},
	})
}
