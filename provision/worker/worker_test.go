package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/provision/worker/webhook"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var (
	alice = store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}
	bob   = store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}
	carol = store.Actor{Name: "carol", Roles: []store.Role{store.RoleApprover, store.RoleAdmin}}
)

// env is one test's world: its own database, its own local IAM endpoint
// reached over HTTP through the real SDK client, and a running worker.
type env struct {
	t    *testing.T
	db   *store.DB
	iam  *iamlocal.Server
	api  *iam.Client
	url  string
	cfg  worker.Config
	w    *worker.Worker
	opts store.Options
}

func setup(t *testing.T, mod func(*worker.Config, *store.Options)) *env {
	t.Helper()
	srv, url := iamlocaltest.Start(t, iamlocal.Options{})
	client := iamlocaltest.Client(t, url)
	e := &env{t: t, iam: srv, api: client, url: url}
	e.cfg = worker.Config{
		Settings:          provision.DefaultSettings(),
		Reconciler:        provision.NewReconciler(client, provision.ReconcilerOptions{PollMinDelay: 5 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond}),
		RetryBase:         10 * time.Millisecond,
		MaxAttempts:       5,
		FetchPollInterval: 100 * time.Millisecond,
	}
	if mod != nil {
		mod(&e.cfg, &e.opts)
	}
	e.opts.Settings = &e.cfg.Settings
	e.opts.JobAttempts = e.cfg.MaxAttempts
	e.db = storetest.Open(t, storetest.URL(t), e.opts)
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	w, err := worker.New(e.db.Pool(), e.db, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.w = w
	e.t.Cleanup(func() { e.stop() })
}

func (e *env) stop() {
	if e.w == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.w.Stop(ctx); err != nil {
		e.t.Errorf("stop worker: %v", err)
	}
	e.w = nil
}

func (e *env) submit(name string, scopes ...provision.BucketScope) store.Request {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}
	}
	r, err := e.db.CreateRequest(context.Background(), store.NewRequest{
		Spec:          provision.RoleSpec{Name: name, Description: "test role", Buckets: scopes},
		Justification: "tests need it", Requester: alice.Name,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Request
}

func (e *env) approve(r store.Request) {
	e.t.Helper()
	if _, err := e.db.Decide(context.Background(), bob, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
		e.t.Fatal(err)
	}
}

// await polls the request until it reaches want, failing on a terminal
// state that is not want, or after 30 seconds.
func (e *env) await(id int64, want store.Status) store.Request {
	e.t.Helper()
	var r store.Request
	eventually(e.t, func() (bool, string) {
		var err error
		if r, err = e.db.GetRequest(context.Background(), id); err != nil {
			e.t.Fatal(err)
		}
		return r.Status == want, fmt.Sprintf("request %d is %s (%s), want %s", id, r.Status, r.StatusReason, want)
	})
	return r
}

// eventually polls cond until it holds, failing with cond's account of
// the state after 30 seconds.
func eventually(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-deadline:
			t.Fatal(state)
		case <-tick.C:
		}
	}
}

func (e *env) roleExists(name string) bool {
	e.t.Helper()
	_, err := e.api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
	return err == nil
}

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
			r := e.submit("flaky-" + action)
			e.approve(r)
			e.await(r.ID, store.StatusActive)
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
			e := setup(t, func(c *worker.Config, _ *store.Options) {
				srv, err := iamlocal.New(iamlocal.Options{})
				if err != nil {
					t.Fatal(err)
				}
				g.next = srv
				hs := httptest.NewServer(g)
				t.Cleanup(hs.Close)
				c.Reconciler = provision.NewReconciler(iamlocaltest.Client(t, hs.URL),
					provision.ReconcilerOptions{PollMinDelay: 5 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond})
			})
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
	r := e.submit("short-lived")
	e.approve(r)
	e.await(r.ID, store.StatusActive)
	if _, err := e.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	e.await(r.ID, store.StatusRevoked)
	if e.roleExists("short-lived") {
		t.Fatal("role still exists after revocation")
	}
	if _, err := e.api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("short-lived")}); err == nil {
		t.Fatal("instance profile still exists after revocation")
	}
}

func TestChangeRequestReconcilesLiveRole(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.submit("changing", provision.BucketScope{Bucket: "team-a", Access: provision.AccessRead})
	e.approve(r)
	e.await(r.ID, store.StatusActive)
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
	r := e.submit("drifter")
	e.approve(r)
	e.await(r.ID, store.StatusActive)
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
		o.Webhooks = []string{recv.URL}
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

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// gate holds IAM calls of one action until opened, announcing each held
// call, so a test can stop the worker in the middle of a job.
type gate struct {
	next   http.Handler
	action string
	open   chan struct{}
	held   chan struct{}
	// pass lets this many calls of action through before holding any.
	pass atomic.Int32
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if strings.Contains(string(body), "Action="+g.action+"&") && g.pass.Add(-1) < 0 {
		select {
		case g.held <- struct{}{}:
		default:
		}
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// clock is a settable test clock for the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestExpiredRoleIsRemoved(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC()}
	e := setup(t, func(c *worker.Config, o *store.Options) {
		o.Now = clk.Now
		c.ExpiryInterval = 100 * time.Millisecond
	})
	ctx := context.Background()
	expires := clk.Now().Add(48 * time.Hour)
	r, err := e.db.CreateRequest(ctx, store.NewRequest{Requester: alice.Name, Justification: "two days of backfill",
		Spec: provision.RoleSpec{Name: "temporary", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}},
			ExpiresAt: &expires}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(24 * time.Hour) // approved a day later: the lifetime counts from activation
	e.approve(r.Request)
	active := e.await(r.ID, store.StatusActive)
	if active.ExpiresAt == nil || !active.ExpiresAt.Equal(active.ActivatedAt.Add(48*time.Hour)) {
		t.Fatalf("expires at %v, activated at %v: want activation + 48h", active.ExpiresAt, active.ActivatedAt)
	}
	clk.Add(47 * time.Hour)
	if got, _ := e.db.GetRequest(ctx, r.ID); got.Status != store.StatusActive {
		t.Fatalf("expired early: %s", got.Status)
	}
	clk.Add(2 * time.Hour)
	e.await(r.ID, store.StatusExpired)
	if e.roleExists("temporary") {
		t.Fatal("expired role still exists in IAM")
	}
}

func TestExpireJobRemovesOldIdempotencyKeys(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *worker.Config, _ *store.Options) { c.ExpiryInterval = 100 * time.Millisecond })
	ctx := context.Background()
	if _, err := e.db.Pool().Exec(ctx, `INSERT INTO idempotency_keys (user_name, key, method, path, request_sha256, created_at)
		VALUES ('alice', 'old', 'POST', '/api/v1/requests', decode(repeat('00', 32), 'hex'), now() - interval '25 hours'),
		       ('alice', 'new', 'POST', '/api/v1/requests', decode(repeat('00', 32), 'hex'), now())`); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() (bool, string) {
		var keys []string
		rows, err := e.db.Pool().Query(ctx, `SELECT key FROM idempotency_keys ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		return len(keys) == 1 && keys[0] == "new", fmt.Sprintf("keys after the expiry job: %v, want only the recent one", keys)
	})
}

func TestWorkerSealsTheAuditTrail(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *worker.Config, _ *store.Options) { c.SealInterval = 100 * time.Millisecond })
	ctx := context.Background()
	r := e.submit("sealed")
	e.approve(r)
	e.await(r.ID, store.StatusActive)
	eventually(t, func() (bool, string) {
		rep, err := e.db.VerifyAuditChain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Intact() {
			t.Fatalf("chain broken: %+v", rep)
		}
		return rep.Unsealed == 0 && rep.Checked > 0, fmt.Sprintf("events still unsealed after 30s: %+v", rep)
	})
}
