package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/provision/worker"
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
	// dbURL is the test's database, for reopen.
	dbURL string
}

func setup(t *testing.T, mod func(*worker.Config, *store.Options)) *env {
	t.Helper()
	srv, url := iamlocaltest.Start(t, iamlocal.Options{})
	client := iamlocaltest.Client(t, url)
	e := &env{t: t, iam: srv, api: client, url: url}
	e.cfg = worker.Config{
		Settings:          provision.DefaultSettings(),
		Reconciler:        fastReconciler(t, url),
		RetryBase:         10 * time.Millisecond,
		MaxAttempts:       5,
		FetchPollInterval: 100 * time.Millisecond,
	}
	if mod != nil {
		mod(&e.cfg, &e.opts)
	}
	e.opts.Settings = &e.cfg.Settings
	e.opts.JobAttempts = e.cfg.MaxAttempts
	e.dbURL = storetest.URL(t)
	e.db = storetest.Open(t, e.dbURL, e.opts)
	// The worker takes its database's installation ID; the test's own
	// plans (and CheckDrift calls) carry it as rolegate's do.
	e.cfg.Settings.Installation = e.db.Installation()
	e.start()
	return e
}

// reopen restarts rolegate with other provisioning settings, as with other
// flags: it stops the worker, lets change change the settings, opens the
// store on the same database with them and starts the worker on it.
func (e *env) reopen(change func(*provision.Settings)) {
	e.t.Helper()
	e.stop()
	change(&e.cfg.Settings)
	set := e.cfg.Settings
	e.opts.Settings = &set
	e.db = storetest.Open(e.t, e.dbURL, e.opts)
	e.start()
}

// fastReconciler is a reconciler on the IAM endpoint at url that polls
// for visibility every few milliseconds.
func fastReconciler(t *testing.T, url string) *provision.Reconciler {
	return provision.NewReconciler(iamlocaltest.Client(t, url),
		provision.ReconcilerOptions{PollMinDelay: 5 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond})
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

// activate submits a request for role name with scopes (or the default
// one), approves it and waits until the worker has made it active.
func (e *env) activate(name string, scopes ...provision.BucketScope) store.Request {
	e.t.Helper()
	r := e.submit(name, scopes...)
	e.approve(r)
	return e.await(r.ID, store.StatusActive)
}

// await polls the request until it reaches want, failing on a terminal
// state that is not want, or after 30 seconds.
func (e *env) await(id int64, want store.Status) store.Request {
	e.t.Helper()
	return e.awaitAny(id, func(r store.Request) bool { return r.Status == want })
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

// description is role name's description in IAM, or what kept it from
// being read.
func (e *env) description(name string) string {
	e.t.Helper()
	role, err := e.api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return aws.ToString(role.Role.Description)
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

// setupGated is setup with the IAM endpoint behind g; the test's own IAM
// client (e.api) reaches the same endpoint. mod, if not nil, tunes the
// worker further.
func setupGated(t *testing.T, g *gate, mod func(*worker.Config)) *env {
	t.Helper()
	srv, err := iamlocal.New(iamlocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g.next = srv
	hs := httptest.NewServer(g)
	t.Cleanup(hs.Close)
	e := setup(t, func(c *worker.Config, _ *store.Options) {
		c.Reconciler = fastReconciler(t, hs.URL)
		if mod != nil {
			mod(c)
		}
	})
	e.iam, e.api, e.url = srv, iamlocaltest.Client(t, hs.URL), hs.URL
	return e
}

// awaitAny waits until request id satisfies done and returns it.
func (e *env) awaitAny(id int64, done func(store.Request) bool) store.Request {
	e.t.Helper()
	var r store.Request
	eventually(e.t, func() (bool, string) {
		var err error
		if r, err = e.db.GetRequest(context.Background(), id); err != nil {
			e.t.Fatal(err)
		}
		return done(r), fmt.Sprintf("request %d is %s (%s)", id, r.Status, r.StatusReason)
	})
	return r
}

// revokedLeavingForeignProfile fails the test unless role name is gone
// from IAM while the instance profile of its name, someone else's, is
// still there, and request id's audit trail says it was left alone.
func (e *env) revokedLeavingForeignProfile(id int64, name string) {
	e.t.Helper()
	if e.roleExists(name) {
		e.t.Fatal("the revoked role is still in IAM")
	}
	if !e.profileExists(name) {
		e.t.Fatal("the foreign instance profile was removed")
	}
	steps, err := e.db.ListEvents(context.Background(), store.EventFilter{RequestID: id, Kind: store.EventProvisionStep, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range steps {
		if s.Data["resource"] == "instance-profile" && s.Data["outcome"] == string(provision.OutcomeForeign) {
			return
		}
	}
	e.t.Fatalf("the audit trail does not say the foreign profile was left alone: %+v", steps)
}

// revokedOrFailed: a revocation has ended.
func revokedOrFailed(r store.Request) bool {
	return r.Status == store.StatusRevoked || r.Status == store.StatusFailed
}

// change asks, as alice, for spec as the next version of live request r,
// has it approved and waits until it is live (failing the test if its
// provisioning fails).
func (e *env) change(r store.Request, spec provision.RoleSpec, why string) store.Request {
	e.t.Helper()
	changed, err := e.db.RequestChange(context.Background(), alice, r.ID, store.NewVersion{Spec: spec, Justification: why})
	if err != nil {
		e.t.Fatal(err)
	}
	e.approve(changed)
	got := e.awaitAny(r.ID, func(g store.Request) bool {
		return g.Status == store.StatusFailed || g.Status == store.StatusActive && g.LiveVersion == changed.Version
	})
	if got.Status != store.StatusActive {
		e.t.Fatalf("the change ended %s: %s", got.Status, got.StatusReason)
	}
	return got
}

// deleteRoleByHand removes role name as someone with the console would:
// out of its profile, without its inline policy, deleted.
func (e *env) deleteRoleByHand(name string) {
	e.t.Helper()
	ctx, n := context.Background(), aws.String(name)
	if _, err := e.api.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: n, RoleName: n}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: n, PolicyName: aws.String(provision.InlinePolicyName)}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.api.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: n}); err != nil {
		e.t.Fatal(err)
	}
}

// replaceProfile puts someone else's instance profile (no rolegate tags)
// in the place of live role name's own, holding the role.
func (e *env) replaceProfile(name string) {
	e.t.Helper()
	ctx, n := context.Background(), aws.String(name)
	if _, err := e.api.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: n, RoleName: n}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.api.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: n}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.api.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: n, Path: aws.String("/rolegate/")}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.api.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: n, RoleName: n}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) profileExists(name string) bool {
	e.t.Helper()
	_, err := e.api.GetInstanceProfile(context.Background(), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	return err == nil
}
