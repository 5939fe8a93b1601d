package provision

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// The tests of this file count the IAM calls of each way through Apply,
// action by action, with iamlocal's counters.

// newLocalEnv is an env on a fresh iamlocal server configured by opts.
func newLocalEnv(t *testing.T, opts iamlocal.Options) *env {
	t.Helper()
	srv, url := iamlocaltest.Start(t, opts)
	e := newEnv(t, "iamlocal", url, srv)
	e.managed = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	return e
}

// slimPlan is the plan of the bench: one read-only scope, no managed
// policy.
func slimPlan(t *testing.T, e *env, name string) Plan {
	spec := RoleSpec{Name: name, Buckets: []BucketScope{{Bucket: "team-data", Prefix: "app/", Access: AccessRead}}}
	return mustPlan(t, spec, e.settings(), testMeta("REQ-"+shortHash(t.Name()+name)))
}

// unchangedCalls are the reads of an Apply that finds everything in place.
var unchangedCalls = map[string]int{"GetRole": 1, "ListRolePolicies": 1, "GetRolePolicy": 1, "ListAttachedRolePolicies": 1, "GetInstanceProfile": 1}

// reapplyCalls are unchangedCalls plus (or, for negative counts, minus)
// extra.
func reapplyCalls(extra map[string]int) map[string]int {
	want := maps.Clone(unchangedCalls)
	for k, n := range extra {
		want[k] += n
		if want[k] == 0 {
			delete(want, k)
		}
	}
	return want
}

// assertCalls checks the calls iamlocal counted since its last reset are
// exactly want, then resets the counters.
func assertCalls(t *testing.T, what string, srv *iamlocal.Server, want map[string]int) {
	t.Helper()
	if got := srv.CallCounts(); !maps.Equal(got, want) {
		t.Errorf("%s made the calls %v, want %v", what, got, want)
	}
	srv.ResetCounters()
}

func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// fresh applies p as a first provisioning does.
func fresh(t *testing.T, e *env, p Plan) (Report, error) {
	return e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: true})
}

func TestCallsNewRole(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{})
	slim := slimPlan(t, e, "rg-new-slim")
	want := map[string]int{"CreateRole": 1, "PutRolePolicy": 1, "CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}
	if _, err := fresh(t, e, slim); err != nil {
		t.Fatalf("fresh Apply: %v", err)
	}
	if total(want) != 5 || slim.CreateCalls() != 5 {
		t.Fatalf("the bench's plan should cost 5 calls, CreateCalls says %d", slim.CreateCalls())
	}
	assertCalls(t, "fresh Apply of a new role", e.srv, want)
	assertConverged(t, e, slim)

	full := mustPlan(t, fullSpec("rg-new-full", e.managed), e.settings(), testMeta("REQ-full"))
	e.srv.ResetCounters()
	if _, err := fresh(t, e, full); err != nil {
		t.Fatalf("fresh Apply: %v", err)
	}
	want["AttachRolePolicy"] = 1
	if total(want) != full.CreateCalls() {
		t.Fatalf("CreateCalls = %d, want %d", full.CreateCalls(), total(want))
	}
	assertCalls(t, "fresh Apply of a new role with a managed policy", e.srv, want)
	assertConverged(t, e, full)

	// Reading first costs a read per entity that is not there.
	slim2 := slimPlan(t, e, "rg-new-read")
	e.srv.ResetCounters()
	if _, err := e.reconciler().Apply(ctxT(t), slim2); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	assertCalls(t, "Apply of a new role", e.srv, map[string]int{"GetRole": 1, "CreateRole": 1, "PutRolePolicy": 1,
		"GetInstanceProfile": 2, "CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 1})
}

func TestCallsUnchangedReapply(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{})
	p := planFor(t, e)
	if _, err := fresh(t, e, p); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCounters()
	rep, err := e.reconciler().Apply(ctxT(t), p)
	if err != nil || rep.Changed() {
		t.Fatalf("re-apply: changed %v err %v", rep.Changed(), err)
	}
	assertCalls(t, "unchanged re-apply", e.srv, unchangedCalls)
	// A fresh apply of what exists meets EntityAlreadyExists twice and
	// reads as a re-apply does.
	rep, err = fresh(t, e, p)
	if err != nil || rep.Changed() {
		t.Fatalf("fresh re-apply: changed %v err %v", rep.Changed(), err)
	}
	assertCalls(t, "fresh re-apply", e.srv, reapplyCalls(map[string]int{"CreateRole": 1, "CreateInstanceProfile": 1}))
}

// foreignState is what a test reads of a foreign role or profile to
// check that a refusal changed nothing.
func foreignState(t *testing.T, e *env, p Plan) string {
	t.Helper()
	ctx := ctxT(t)
	var s string
	if out, err := e.admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.Role.Name)}); err == nil {
		pols, err1 := e.admin.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(p.Role.Name)})
		att, err2 := e.admin.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(p.Role.Name)})
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		r := out.Role
		s += fmt.Sprintf("role %s %s %s %d %v %v %v\n", aws.ToString(r.Path), aws.ToString(r.Description), aws.ToString(r.AssumeRolePolicyDocument),
			aws.ToInt32(r.MaxSessionDuration), tagMap(r.Tags), pols.PolicyNames, len(att.AttachedPolicies))
	} else if !isNoSuchEntity(err) {
		t.Fatal(err)
	}
	if out, err := e.admin.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name)}); err == nil {
		pr := out.InstanceProfile
		s += fmt.Sprintf("profile %s %v %d\n", aws.ToString(pr.Path), tagMap(pr.Tags), len(pr.Roles))
	} else if !isNoSuchEntity(err) {
		t.Fatal(err)
	}
	return s
}

func TestCallsForeignRefused(t *testing.T) {
	t.Parallel()
	foreignTags := []types.Tag{{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)}, {Key: aws.String(TagRequestID), Value: aws.String("someone-else")}}
	for _, tc := range []struct {
		name        string
		fresh       bool
		profileOnly bool
		want        map[string]int
	}{
		{"role, fresh", true, false, map[string]int{"CreateRole": 1, "GetRole": 1}},
		{"role, read first", false, false, map[string]int{"GetRole": 1}},
		{"instance profile, fresh", true, true, map[string]int{"CreateRole": 1, "PutRolePolicy": 1, "CreateInstanceProfile": 1, "GetInstanceProfile": 1}},
		{"instance profile, read first", false, true, map[string]int{"GetRole": 1, "CreateRole": 1, "PutRolePolicy": 1, "GetInstanceProfile": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newLocalEnv(t, iamlocal.Options{})
			p := slimPlan(t, e, "rg-foreign")
			var err error
			if tc.profileOnly {
				_, err = e.admin.CreateInstanceProfile(ctxT(t), &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name),
					Path: aws.String(p.InstanceProfile.Path), Tags: foreignTags})
			} else {
				_, err = e.admin.CreateRole(ctxT(t), &iam.CreateRoleInput{RoleName: aws.String(p.Role.Name), Path: aws.String(p.Role.Path),
					AssumeRolePolicyDocument: aws.String(p.Role.TrustPolicy), Tags: foreignTags})
			}
			if err != nil {
				t.Fatal(err)
			}
			before := foreignState(t, e, p)
			e.srv.ResetCounters()
			_, err = e.reconciler().ApplyWith(ctxT(t), p, ApplyOptions{Fresh: tc.fresh})
			var perm *PermanentError
			if !errors.As(err, &perm) || perm.Code != CodeForeignEntity || IsRetryable(err) {
				t.Fatalf("Apply: err = %v, want a permanent %s error", err, CodeForeignEntity)
			}
			assertCalls(t, "refusing Apply", e.srv, tc.want)
			after := foreignState(t, e, p)
			if tc.profileOnly {
				// The role is rolegate's own; only the profile is compared.
				before, after = lastLine(before), lastLine(after)
			}
			if before != after {
				t.Errorf("the foreign entity changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func lastLine(s string) string {
	for i := len(s) - 2; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

// TestCallsResumeAfterCrash stops a fresh Apply after each of its writes,
// then applies fresh again (as the worker's retry does): it reaches the
// same end state with the calls counted here.
func TestCallsResumeAfterCrash(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{})
	base := planFor(t, e)
	exists := map[string]int{"CreateRole": 1, "GetRole": 1, "ListRolePolicies": 1, "ListAttachedRolePolicies": 1}
	resume := []map[string]int{
		// Crashed before CreateRole: a new role.
		{"CreateRole": 1, "PutRolePolicy": 1, "AttachRolePolicy": 1, "CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1},
		// After CreateRole: the role exists, without its policies.
		merge(exists, map[string]int{"PutRolePolicy": 1, "AttachRolePolicy": 1, "CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}),
		// After PutRolePolicy.
		merge(exists, map[string]int{"GetRolePolicy": 1, "AttachRolePolicy": 1, "CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}),
		// After AttachRolePolicy.
		merge(exists, map[string]int{"GetRolePolicy": 1, "CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}),
		// After CreateInstanceProfile: it exists, empty.
		merge(exists, map[string]int{"GetRolePolicy": 1, "CreateInstanceProfile": 1, "GetInstanceProfile": 2, "AddRoleToInstanceProfile": 1}),
		// After AddRoleToInstanceProfile, before the readiness read.
		merge(exists, map[string]int{"GetRolePolicy": 1, "CreateInstanceProfile": 1, "GetInstanceProfile": 1}),
	}
	for k, want := range resume {
		p := base
		p.Role.Name = fmt.Sprintf("%s-%d", base.Role.Name, k)
		p.InstanceProfile.Name, p.InstanceProfile.RoleName = p.Role.Name, p.Role.Name
		e.crash.set(k)
		_, err := fresh(t, e, p)
		e.crash.set(-1)
		if k < len(resume)-1 && !errors.Is(err, errCrash) || k == len(resume)-1 && err != nil {
			t.Fatalf("crash after %d writes: Apply err = %v", k, err)
		}
		e.srv.ResetCounters()
		if _, err := fresh(t, e, p); err != nil {
			t.Fatalf("resume after %d writes: %v", k, err)
		}
		assertCalls(t, fmt.Sprintf("resume after %d writes", k), e.srv, want)
		assertConverged(t, e, p)
	}
}

// merge returns a with b's counts added.
func merge(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k, n := range b {
		out[k] += n
	}
	return out
}

// TestCallsWriteBeforeVisible: a write IAM answers NoSuchEntity for on an
// entity just created is made again once IAM shows it; a second
// NoSuchEntity is IAM's answer (here: a managed policy that does not
// exist) and is not retried.
func TestCallsWriteBeforeVisible(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, iamlocal.Options{})
	p := slimPlan(t, e, "rg-unseen")
	e.srv.FailNth("PutRolePolicy", 1, "NoSuchEntity")
	e.srv.FailNth("AddRoleToInstanceProfile", 1, "NoSuchEntity")
	if _, err := fresh(t, e, p); err != nil {
		t.Fatalf("fresh Apply: %v", err)
	}
	assertCalls(t, "fresh Apply through NoSuchEntity", e.srv, map[string]int{"CreateRole": 1, "PutRolePolicy": 2, "GetRole": 2,
		"CreateInstanceProfile": 1, "AddRoleToInstanceProfile": 2, "GetInstanceProfile": 2})
	assertConverged(t, e, p)

	set := e.settings()
	missing := "arn:aws:iam::123456789012:policy/does-not-exist"
	set.AllowedManagedPolicies = append(set.AllowedManagedPolicies, missing)
	q := mustPlan(t, RoleSpec{Name: "rg-missing", Buckets: []BucketScope{{Bucket: "team-data", Access: AccessRead}}, ManagedPolicies: []string{missing}}, set, testMeta("REQ-missing"))
	e.srv.ResetCounters()
	_, err := fresh(t, e, q)
	var perm *PermanentError
	if !errors.As(err, &perm) || perm.Code != "NoSuchEntity" || perm.Op != "AttachRolePolicy" {
		t.Fatalf("fresh Apply with a missing managed policy: err = %v, want a permanent NoSuchEntity", err)
	}
	assertCalls(t, "fresh Apply with a missing managed policy", e.srv, map[string]int{"CreateRole": 1, "PutRolePolicy": 1, "AttachRolePolicy": 2, "GetRole": 1})
}
