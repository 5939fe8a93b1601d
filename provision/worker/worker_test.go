package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/provision/worker/webhook"
	"github.com/rolegate/rolegate/store"
)

func TestSubmitApproveActive(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.submit("reports-reader")
	e.approve(r)
	got := e.await(r.ID, store.StatusActive)
	// A first provisioning creates without reading first: its writes and
	// the one read that awaits readiness.
	if got, want := e.iam.CallCounts(), map[string]int{"CreateRole": 1, "PutRolePolicy": 1, "CreateInstanceProfile": 1,
		"AddRoleToInstanceProfile": 1, "GetInstanceProfile": 1}; !maps.Equal(got, want) {
		t.Errorf("provisioning made the IAM calls %v, want %v", got, want)
	}

	if got.RoleARN != "arn:aws:iam::123456789012:role/rolegate/reports-reader" ||
		got.InstanceProfileARN != "arn:aws:iam::123456789012:instance-profile/rolegate/reports-reader" {
		t.Fatalf("ARNs = %s, %s", got.RoleARN, got.InstanceProfileARN)
	}
	pol, err := e.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("reports-reader"), PolicyName: aws.String(provision.InlinePolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := e.api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("reports-reader")})
	if err != nil {
		t.Fatal(err)
	}
	if len(prof.InstanceProfile.Roles) != 1 || aws.ToString(prof.InstanceProfile.Roles[0].RoleName) != "reports-reader" {
		t.Fatalf("profile roles = %+v", prof.InstanceProfile.Roles)
	}
	versions, err := e.db.ListVersions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	work, err := e.db.BeginRevocation(ctx, r.ID) // not revoking: must refuse
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("BeginRevocation on an active request = %+v, %v", work, err)
	}
	plan, err := store.PlanOf(store.Work{Request: got, Version: 1, Spec: versions[0].Spec, Approvers: []string{"bob"}, ApprovedAt: *versions[0].ApprovedAt}, e.cfg.Settings)
	if err != nil {
		t.Fatal(err)
	}
	want, err := provision.Terraform(plan)
	if err != nil {
		t.Fatal(err)
	}
	if versions[0].Terraform != string(want) {
		t.Fatalf("stored Terraform differs from provision.Terraform of the plan:\n%s\n---\n%s", versions[0].Terraform, want)
	}
	if aws.ToString(pol.PolicyDocument) == "" || versions[0].TerraformSHA256 == "" {
		t.Fatal("policy or Terraform hash missing")
	}
	events, err := e.db.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Kind: store.EventProvisionStep})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 {
		t.Fatalf("%d provisioning steps recorded, want one per resource", len(events))
	}
}

func TestPermanentErrorFailsThenAdminRetrySucceeds(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.iam.FailNth("CreateRole", 1, "MalformedPolicyDocument")
	r := e.submit("fails-once")
	e.approve(r)
	failed := e.await(r.ID, store.StatusFailed)
	if failed.StatusReason == "" {
		t.Fatal("failed without a reason")
	}
	if _, err := e.db.Retry(context.Background(), bob, r.ID); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("retry by a non-admin: %v", err)
	}
	if _, err := e.db.Retry(context.Background(), carol, r.ID); err != nil {
		t.Fatal(err)
	}
	e.await(r.ID, store.StatusActive)
}

func TestRetryableFaultsAfterEachStepConverge(t *testing.T) {
	t.Parallel()
	// Each write step fails once, leaving IAM half-built as a crash would;
	// the job is retried and must converge with no duplicates.
	for _, action := range []string{"CreateRole", "PutRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			e.iam.FailNth(action, 1, "ServiceFailure")
			e.iam.FailNth(action, 2, "ServiceFailure")
			e.iam.FailNth(action, 3, "ServiceFailure")
			e.activate("flaky-" + action)
			roles, err := e.api.ListRoles(context.Background(), &iam.ListRolesInput{})
			if err != nil {
				t.Fatal(err)
			}
			if len(roles.Roles) != 1 {
				t.Fatalf("%d roles, want 1", len(roles.Roles))
			}
		})
	}
}

func TestWorkerStoppedMidJobResumesOnRestart(t *testing.T) {
	t.Parallel()
	// After each write step, stop the worker while the next call is in
	// flight, then start a new one: the role must converge.
	for _, action := range []string{"PutRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			g := &gate{action: action, open: make(chan struct{}), held: make(chan struct{}, 1)}
			e := setupGated(t, g, nil)
			r := e.submit("interrupted")
			e.approve(r)
			select {
			case <-g.held:
			case <-time.After(30 * time.Second):
				t.Fatalf("the job never reached %s", action)
			}
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			if err := e.w.Stop(cancelled); err != nil {
				t.Fatal(err)
			}
			e.w = nil
			if got, _ := e.db.GetRequest(context.Background(), r.ID); got.Status != store.StatusProvisioning {
				t.Fatalf("after the stop the request is %s, want provisioning", got.Status)
			}
			close(g.open)
			e.start()
			e.await(r.ID, store.StatusActive)
		})
	}
}

func TestRevokeRemovesEverything(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("short-lived")
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	e.await(r.ID, store.StatusRevoked)
	if e.roleExists("short-lived") {
		t.Fatal("role still exists after revocation")
	}
	if e.profileExists("short-lived") {
		t.Fatal("instance profile still exists after revocation")
	}
}

func TestChangeRequestReconcilesLiveRole(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("changing", provision.BucketScope{Bucket: "team-a", Access: provision.AccessRead})
	e.iam.ResetCounters()
	spec := r.Spec
	spec.Buckets = []provision.BucketScope{{Bucket: "team-a", Access: provision.AccessRead}, {Bucket: "team-b", Prefix: "in/", Access: provision.AccessRead}}
	changed, err := e.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: spec, Justification: "also team-b"})
	if err != nil {
		t.Fatal(err)
	}
	e.approve(changed)
	got := e.await(r.ID, store.StatusActive)
	for got.LiveVersion != 2 {
		got = e.await(r.ID, store.StatusActive)
	}
	pol, err := e.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("changing"), PolicyName: aws.String(provision.InlinePolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	if doc := aws.ToString(pol.PolicyDocument); !containsAll(doc, "team-b") {
		t.Fatalf("policy not reconciled to version 2: %s", doc)
	}
	// The live role is read first, not created again: the reads of a
	// re-apply, the policy put, and the test's own GetRolePolicy.
	if got, want := e.iam.CallCounts(), map[string]int{"GetRole": 1, "ListRolePolicies": 1, "GetRolePolicy": 2,
		"ListAttachedRolePolicies": 1, "GetInstanceProfile": 1, "PutRolePolicy": 1}; !maps.Equal(got, want) {
		t.Errorf("provisioning version 2 made the IAM calls %v, want %v", got, want)
	}
	versions, err := e.db.ListVersions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].Terraform == "" || versions[1].Terraform == "" || versions[0].Terraform == versions[1].Terraform {
		t.Fatal("both versions' Terraform must be kept, and differ")
	}
}

func TestDriftDetectedAndRepaired(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("drifter")
	if _, err := e.api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("drifter"), Description: aws.String("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	found, err := worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Repaired {
		t.Fatalf("drift = %+v", found)
	}
	if got, _ := e.db.GetRequest(ctx, r.ID); !got.Drifted {
		t.Fatal("request not marked drifted")
	}
	if found, err = worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, true); err != nil || len(found) != 1 || !found[0].Repaired {
		t.Fatalf("repair = %+v, %v", found, err)
	}
	if found, err = worker.CheckDrift(ctx, e.db, provision.SingleAccount(e.cfg.Reconciler), e.cfg.Settings, false); err != nil || len(found) != 0 {
		t.Fatalf("after repair = %+v, %v", found, err)
	}
	if got, _ := e.db.GetRequest(ctx, r.ID); got.Drifted {
		t.Fatal("request still marked drifted after repair")
	}
}

func TestWebhookSignedAndRetriedWhileReceiverFails(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		bodies   [][]byte
		sigs     []string
		failures atomic.Int32
	)
	got := make(chan struct{}, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failures.Add(1) <= 2 { // down for the first two deliveries
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		sigs = append(sigs, r.Header.Get(webhook.SignatureHeader))
		mu.Unlock()
		got <- struct{}{}
	}))
	t.Cleanup(recv.Close)
	e := setup(t, func(c *worker.Config, o *store.Options) {
		c.WebhookSecret = "s3cret"
		o.Webhooks, c.WebhookURLs = []string{recv.URL}, []string{recv.URL}
	})
	e.submit("notified")
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("webhook never delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if sigs[0] != webhook.Sign("s3cret", bodies[0]) {
		t.Fatalf("signature %q does not match the body", sigs[0])
	}
	if !containsAll(string(bodies[0]), `"kind":"request.submitted"`, `"text":"rolegate: request #`) {
		t.Fatalf("body = %s", bodies[0])
	}
}

// IAM caps the inline policies of a role at 10,240 characters together.
// An inline policy someone else put on a live role is drift the next
// apply removes; it must not, by taking up that room first, make the
// change (or the repair) that would remove it fail for good.
func TestChangeAppliesPastAForeignInlinePolicyTakingTheRoom(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("crowded", provision.BucketScope{Bucket: "team-a", Access: provision.AccessRead})
	ours, err := e.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("crowded"), PolicyName: aws.String(provision.InlinePolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := url.PathUnescape(aws.ToString(ours.PolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	// The foreign policy leaves 10 characters beside ours.
	head, tail := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/`, `"}]}`
	size := 10240 - 10 - len(strings.Join(strings.Fields(doc), ""))
	squatter := head + strings.Repeat("x", size-len(head)-len(tail)) + tail
	if _, err := e.api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("crowded"), PolicyName: aws.String("squatter"),
		PolicyDocument: aws.String(squatter)}); err != nil {
		t.Fatal(err)
	}
	spec := r.Spec
	spec.Buckets = append(spec.Buckets, provision.BucketScope{Bucket: "team-b", Prefix: "reports/", Access: provision.AccessRead})
	e.change(r, spec, "also team-b")
	names, err := e.api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("crowded")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names.PolicyNames, []string{provision.InlinePolicyName}) {
		t.Fatalf("inline policies after the change: %v", names.PolicyNames)
	}
}

// IAM caps the managed policies attached to a role (10 by default).
// Policies someone else attached to a live role are drift the next apply
// detaches; they must not, by filling the places first, make the change
// that would detach them fail for good.
func TestChangeAppliesPastForeignAttachmentsFillingTheQuota(t *testing.T) {
	t.Parallel()
	arn := func(name string) string { return "arn:aws:iam::123456789012:policy/" + name }
	e := setup(t, func(c *worker.Config, _ *store.Options) {
		c.Settings.AllowedManagedPolicies = []string{arn("planned-0"), arn("planned-1")}
	})
	ctx := context.Background()
	names := []string{"planned-0", "planned-1"}
	for i := range 9 {
		names = append(names, fmt.Sprintf("foreign-%d", i))
	}
	for _, n := range names {
		if _, err := e.api.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(n),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	spec := provision.RoleSpec{Name: "quota-full", Description: "test role", ManagedPolicies: []string{arn("planned-0")},
		Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}
	created, err := e.db.CreateRequest(ctx, store.NewRequest{Spec: spec, Justification: "tests need it", Requester: alice.Name})
	if err != nil {
		t.Fatal(err)
	}
	e.approve(created.Request)
	r := e.await(created.ID, store.StatusActive)
	for _, n := range names[2:] {
		if _, err := e.api.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("quota-full"), PolicyArn: aws.String(arn(n))}); err != nil {
			t.Fatal(err)
		}
	}
	spec.ManagedPolicies = []string{arn("planned-0"), arn("planned-1")}
	e.change(r, spec, "one more")
	out, err := e.api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("quota-full")})
	if err != nil {
		t.Fatal(err)
	}
	var attached []string
	for _, p := range out.AttachedPolicies {
		attached = append(attached, aws.ToString(p.PolicyName))
	}
	slices.Sort(attached)
	if !slices.Equal(attached, names[:2]) {
		t.Fatalf("attached after the change: %v, want %v", attached, names[:2])
	}
}
