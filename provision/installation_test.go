package provision

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// otherInstallation plans p's request (same ID, same names) as another
// rolegate installation would, with a policy of its own: a staging and a
// production rolegate in one account, each with its request of that ID.
func otherInstallation(t *testing.T, e *env, p Plan) Plan {
	t.Helper()
	set := e.settings()
	set.Installation = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	spec := fullSpec(p.Role.Name, e.managed)
	spec.Buckets = []BucketScope{{Bucket: "staging-only", Access: AccessReadWrite}}
	return mustPlan(t, spec, set, testMeta(p.Meta.RequestID))
}

// assertTheirs fails the test unless err is the permanent "not
// rolegate's" error, naming the installation tags of both.
func assertTheirs(t *testing.T, what string, err error, p, other Plan) {
	t.Helper()
	var perm *PermanentError
	if !asPermanent(err, &perm) || perm.Code != CodeForeignEntity {
		t.Fatalf("%s: %v, want the permanent %s error", what, err, CodeForeignEntity)
	}
	if !strings.Contains(perm.Message, TagInstallation) || !strings.Contains(perm.Message, p.Installation) ||
		!strings.Contains(perm.Message, other.Installation) {
		t.Fatalf("%s: %q does not name the installation tag, its value and this installation's", what, perm.Message)
	}
}

// tagsOf returns the tags of the role and of the instance profile named name.
func tagsOf(t *testing.T, e *env, name string) (role, profile map[string]string) {
	t.Helper()
	r, err := e.admin.GetRole(ctxT(t), &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := e.admin.GetInstanceProfile(ctxT(t), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return tagMap(r.Role.Tags), tagMap(ip.InstanceProfile.Tags)
}

func TestInstallations(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"another installation's role of the same request is neither changed nor removed", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatal(err)
			}
			if role, prof := tagsOf(t, e, p.Role.Name); role[TagInstallation] != p.Installation || prof[TagInstallation] != p.Installation {
				t.Fatalf("installation tags of the new role %q and profile %q, want %q", role[TagInstallation], prof[TagInstallation], p.Installation)
			}
			before, err := e.admin.GetRolePolicy(ctxT(t), &iam.GetRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String(InlinePolicyName)})
			if err != nil {
				t.Fatal(err)
			}
			other := otherInstallation(t, e, p)
			if e.srv != nil {
				e.srv.ResetCounters()
			}
			_, err = e.reconciler().Apply(ctxT(t), other)
			assertTheirs(t, "Apply", err, p, other)
			_, err = e.reconciler().DryRun(ctxT(t), other)
			assertTheirs(t, "DryRun", err, p, other)
			snap, err := e.reconciler().ReadSnapshot(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.reconciler().DryRunFrom(ctxT(t), snap, other)
			assertTheirs(t, "DryRunFrom", err, p, other)
			_, err = e.reconciler().Destroy(ctxT(t), other)
			assertTheirs(t, "Destroy", err, p, other)
			_, err = e.reconciler().Revoke(ctxT(t), other)
			assertTheirs(t, "Revoke", err, p, other)
			rep, err := e.reconciler().Sweep(ctxT(t), other)
			if err != nil || outcomeOf(rep, KindRole) != OutcomeForeign || outcomeOf(rep, KindInstanceProfile) != OutcomeForeign {
				t.Fatalf("Sweep: %+v, %v; want both left alone as foreign", rep.Resources, err)
			}
			if e.srv != nil && e.srv.WriteCalls() != 0 {
				t.Errorf("the other installation made %d write calls", e.srv.WriteCalls())
			}
			after, err := e.admin.GetRolePolicy(ctxT(t), &iam.GetRolePolicyInput{RoleName: aws.String(p.Role.Name), PolicyName: aws.String(InlinePolicyName)})
			if err != nil {
				t.Fatalf("the role's policy is gone: %v", err)
			}
			if aws.ToString(after.PolicyDocument) != aws.ToString(before.PolicyDocument) {
				t.Fatalf("the other installation changed the policy:\n%s\n->\n%s", aws.ToString(before.PolicyDocument), aws.ToString(after.PolicyDocument))
			}
			assertConverged(t, e, p) // still the first installation's, unchanged
		}},
		{"a role and profile from before installation IDs are adopted and tagged", func(t *testing.T, e *env) {
			// Request 42 was made before the installation drew its ID.
			p := numberedPlan(t, e, 42, 42)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatal(err)
			}
			untagInstallation(t, e, p.Role.Name)
			rep, err := e.reconciler().DryRun(ctxT(t), p)
			if err != nil {
				t.Fatalf("DryRun of a role from before installation IDs: %v", err)
			}
			for _, kind := range []ResourceKind{KindRole, KindInstanceProfile} {
				if got := changesOf(rep, kind); !strings.Contains(got, "tags set: "+TagInstallation) {
					t.Errorf("dry run of the %s: %q, want the installation tag to set", kind, got)
				}
			}
			if e.srv != nil {
				e.srv.ResetCounters()
			}
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply to a role from before installation IDs: %v", err)
			}
			if e.srv != nil {
				assertCalls(t, "adoption", e.srv, reapplyCalls(map[string]int{"TagRole": 1, "TagInstanceProfile": 1}))
			}
			if role, prof := tagsOf(t, e, p.Role.Name); role[TagInstallation] != p.Installation || prof[TagInstallation] != p.Installation {
				t.Fatalf("after adoption the role's installation tag is %q and the profile's %q, want %q", role[TagInstallation], prof[TagInstallation], p.Installation)
			}
			assertConverged(t, e, p)
			// Adopted, the role is this installation's: another refuses it.
			other := otherInstallation(t, e, p)
			_, err = e.reconciler().Apply(ctxT(t), other)
			assertTheirs(t, "Apply of another installation after adoption", err, p, other)
		}},
		{"a role from before installation IDs is not adopted by a request made after the ID", func(t *testing.T, e *env) {
			// Another installation's role of its request 42, made before
			// installation IDs: rolegate's tags, no installation tag.
			set := e.settings()
			set.Installation = ""
			theirs := mustPlan(t, fullSpec(uniqueName(t), e.managed), set, testMeta("42"))
			if _, err := e.reconciler().Apply(ctxT(t), theirs); err != nil {
				t.Fatal(err)
			}
			before, err := e.admin.GetRolePolicy(ctxT(t), &iam.GetRolePolicyInput{RoleName: aws.String(theirs.Role.Name), PolicyName: aws.String(InlinePolicyName)})
			if err != nil {
				t.Fatal(err)
			}
			// This installation's request 42 of a role of that name was
			// made after it drew its ID, which followed its request 41.
			// Its policy is another.
			set = e.settings()
			set.AdoptsUpTo = 41
			spec := fullSpec(theirs.Role.Name, e.managed)
			spec.Buckets = []BucketScope{{Bucket: "staging-only", Access: AccessReadWrite}}
			late := mustPlan(t, spec, set, testMeta("42"))
			if e.srv != nil {
				e.srv.ResetCounters()
			}
			_, err = e.reconciler().Apply(ctxT(t), late)
			assertNotThisInstallations(t, "Apply", err, late)
			_, err = e.reconciler().DryRun(ctxT(t), late)
			assertNotThisInstallations(t, "DryRun", err, late)
			snap, err := e.reconciler().ReadSnapshot(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.reconciler().DryRunFrom(ctxT(t), snap, late)
			assertNotThisInstallations(t, "DryRunFrom", err, late)
			_, err = e.reconciler().Destroy(ctxT(t), late)
			assertNotThisInstallations(t, "Destroy", err, late)
			_, err = e.reconciler().Revoke(ctxT(t), late)
			assertNotThisInstallations(t, "Revoke", err, late)
			rep, err := e.reconciler().Sweep(ctxT(t), late)
			if err != nil || outcomeOf(rep, KindRole) != OutcomeForeign || outcomeOf(rep, KindInstanceProfile) != OutcomeForeign {
				t.Fatalf("Sweep: %+v, %v; want both left alone as foreign", rep.Resources, err)
			}
			if e.srv != nil && e.srv.WriteCalls() != 0 {
				t.Errorf("the later request made %d write calls", e.srv.WriteCalls())
			}
			after, err := e.admin.GetRolePolicy(ctxT(t), &iam.GetRolePolicyInput{RoleName: aws.String(theirs.Role.Name), PolicyName: aws.String(InlinePolicyName)})
			if err != nil {
				t.Fatalf("the role's policy is gone: %v", err)
			}
			if aws.ToString(after.PolicyDocument) != aws.ToString(before.PolicyDocument) {
				t.Fatalf("the later request changed the policy:\n%s\n->\n%s", aws.ToString(before.PolicyDocument), aws.ToString(after.PolicyDocument))
			}
			if role, prof := tagsOf(t, e, theirs.Role.Name); role[TagInstallation] != "" || prof[TagInstallation] != "" {
				t.Fatalf("the later request tagged the role %q and the profile %q", role[TagInstallation], prof[TagInstallation])
			}
			// A request ID that is no database's number adopts nothing
			// either, whatever the bound.
			named := mustPlan(t, fullSpec(theirs.Role.Name, e.managed), e.settings(), testMeta("REQ-42"))
			named.AdoptsUpTo = 1 << 40
			if named.owns(map[string]string{TagManagedBy: ManagedByValue, TagRequestID: "REQ-42"}) {
				t.Error("a plan of request REQ-42 adopts an untagged role")
			}
		}},
		{"a plan without an installation refuses a role that carries one", func(t *testing.T, e *env) {
			p := planFor(t, e)
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatal(err)
			}
			set := e.settings()
			set.Installation = ""
			none := mustPlan(t, fullSpec(p.Role.Name, e.managed), set, testMeta(p.Meta.RequestID))
			_, err := e.reconciler().Destroy(ctxT(t), none)
			var perm *PermanentError
			if !asPermanent(err, &perm) || perm.Code != CodeForeignEntity || !strings.Contains(perm.Message, "this installation's is none") {
				t.Fatalf("Destroy without an installation: %v", err)
			}
		}},
	})
}

// numberedPlan plans request id of the scenario's role in an installation
// whose requests up to adoptsUpTo were made before it drew its ID, as the
// worker plans a stored request.
func numberedPlan(t *testing.T, e *env, id, adoptsUpTo int64) Plan {
	t.Helper()
	set := e.settings()
	set.AdoptsUpTo = adoptsUpTo
	return mustPlan(t, fullSpec(uniqueName(t), e.managed), set, testMeta(strconv.FormatInt(id, 10)))
}

// assertNotThisInstallations fails the test unless err is the permanent
// "not rolegate's" error for an untagged role p's request may not adopt,
// saying so.
func assertNotThisInstallations(t *testing.T, what string, err error, p Plan) {
	t.Helper()
	var perm *PermanentError
	if !asPermanent(err, &perm) || perm.Code != CodeForeignEntity {
		t.Fatalf("%s: %v, want the permanent %s error", what, err, CodeForeignEntity)
	}
	for _, want := range []string{"not created by this installation", "no " + TagInstallation + " tag", p.Installation,
		fmt.Sprintf("requests up to %d", p.AdoptsUpTo), "request " + p.Meta.RequestID + " is not one of them"} {
		if !strings.Contains(perm.Message, want) {
			t.Fatalf("%s: %q does not say %q", what, perm.Message, want)
		}
	}
}

// untagInstallation takes the installation tag off role and profile name,
// as they were made by a rolegate before installation IDs.
func untagInstallation(t *testing.T, e *env, name string) {
	t.Helper()
	n := aws.String(name)
	if _, err := e.admin.UntagRole(ctxT(t), &iam.UntagRoleInput{RoleName: n, TagKeys: []string{TagInstallation}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.UntagInstanceProfile(ctxT(t), &iam.UntagInstanceProfileInput{InstanceProfileName: n, TagKeys: []string{TagInstallation}}); err != nil {
		t.Fatal(err)
	}
}

func changesOf(rep Report, kind ResourceKind) string {
	for _, r := range rep.Resources {
		if r.Kind == kind {
			return strings.Join(r.Changes, "; ")
		}
	}
	return ""
}

func asPermanent(err error, perm **PermanentError) bool { return errors.As(err, perm) }

// An entity is the plan's with rolegate's tags for its request and its
// installation's tag; without an installation tag only when the plan has
// no installation (as before IDs), or its request is a number no later
// than the last one made before the installation drew its ID.
func TestOwnsAdoptsOnlyRequestsFromBeforeTheInstallation(t *testing.T) {
	t.Parallel()
	const id = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	untagged := func(req string) map[string]string {
		return map[string]string{TagManagedBy: ManagedByValue, TagRequestID: req}
	}
	tagged := func(req, inst string) map[string]string {
		m := untagged(req)
		m[TagInstallation] = inst
		return m
	}
	for _, c := range []struct {
		name         string
		installation string
		adoptsUpTo   int64
		request      string
		tags         map[string]string
		want         bool
	}{
		{"tagged with the installation", id, 0, "42", tagged("42", id), true},
		{"tagged with another installation", id, 100, "42", tagged("42", "another"), false},
		{"tag key in another case", id, 0, "42", map[string]string{TagManagedBy: ManagedByValue, TagRequestID: "42", "Rolegate:Installation": id}, true},
		{"another request", id, 100, "42", untagged("41"), false},
		{"not managed by rolegate", id, 100, "42", map[string]string{TagRequestID: "42"}, false},
		{"untagged, request made before the ID", id, 42, "42", untagged("42"), true},
		{"untagged, an earlier request", id, 100, "42", untagged("42"), true},
		{"untagged, request made after the ID", id, 41, "42", untagged("42"), false},
		{"untagged, the installation held no request before its ID", id, 0, "1", untagged("1"), false},
		{"untagged, request ID not a number", id, 100, "REQ-42", untagged("REQ-42"), false},
		{"untagged, request ID a signed number", id, 100, "+42", untagged("+42"), false},
		{"untagged, request ID with leading zero", id, 100, "042", untagged("042"), false},
		{"untagged, no installation in the plan", "", 0, "REQ-42", untagged("REQ-42"), true},
		{"tagged, no installation in the plan", "", 0, "42", tagged("42", id), false},
	} {
		p := Plan{Meta: PlanMeta{RequestID: c.request}, Installation: c.installation, AdoptsUpTo: c.adoptsUpTo}
		if got := p.owns(c.tags); got != c.want {
			t.Errorf("%s: owns = %v, want %v", c.name, got, c.want)
		}
	}
}
