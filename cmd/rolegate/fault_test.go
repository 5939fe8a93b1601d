package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// The fault suites: rolegate keeps every approved request on its way to
// exactly one role, policy and instance profile when its worker is killed,
// when several processes share the queue, and when IAM throttles and fails.
// They run in CI by default; each is bounded by its own deadline.

// faultSeed fixes the random moments of the kill suite; it is printed so a
// failing run can be replayed.
const faultSeed = 20260108

var (
	faultRequester = "alice"
	faultApprover  = store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}
	workerUpRE     = regexp.MustCompile(`(msg="rolegate worker running")`)
)

// createApproved stores n read-only requests named prefix-NNN and approves
// each; it returns their IDs by role name.
func createApproved(t *testing.T, ctx context.Context, db *store.DB, n int, prefix string) map[string]int64 {
	t.Helper()
	ids := make(map[string]int64, n)
	for i := range n {
		r, err := db.CreateRequest(ctx, store.NewRequest{
			Requester: faultRequester, Justification: "fault suite",
			Spec: provision.RoleSpec{Name: fmt.Sprintf("%s-%03d", prefix, i),
				Buckets: []provision.BucketScope{{Bucket: "example-bucket", Prefix: fmt.Sprintf("team-%d/", i), Access: provision.AccessRead}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Decide(ctx, faultApprover, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
		ids[r.Spec.Name] = r.ID
	}
	return ids
}

// statusCounts returns how many requests are in each state.
func statusCounts(ctx context.Context, db *store.DB) (map[store.Status]int, error) {
	rows, err := db.Pool().Query(ctx, `SELECT status, count(*) FROM requests GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[store.Status]int{}
	for rows.Next() {
		var s store.Status
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// awaitAllActive waits until n requests are active, failing at once when one
// fails (with its reason) and when ctx ends first.
func awaitAllActive(t *testing.T, ctx context.Context, db *store.DB, n int) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last map[store.Status]int
	for {
		counts, err := statusCounts(ctx, db)
		if err == nil {
			last = counts
			if counts[store.StatusFailed] > 0 {
				var reasons []string
				rows, _ := db.Pool().Query(ctx, `SELECT role_name || ': ' || coalesce(status_reason, '') FROM requests WHERE status = 'failed'`)
				for rows.Next() {
					var s string
					if rows.Scan(&s) == nil {
						reasons = append(reasons, s)
					}
				}
				rows.Close()
				t.Fatalf("%d requests failed:\n%s", counts[store.StatusFailed], strings.Join(reasons, "\n"))
			}
			if counts[store.StatusActive] == n {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not every request became active in time: %v (last error %v)", last, err)
		case <-tick.C:
		}
	}
}

// child is one rolegate process started by a test.
type child struct {
	name   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// childEnv is the environment of a rolegate process pointed at the test
// database and the local IAM endpoint, with nothing read from the machine's
// AWS configuration.
func childEnv(t *testing.T, dbURL, iamURL string) []string {
	home := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"DATABASE_URL=" + dbURL, "AWS_ENDPOINT_URL_IAM=" + iamURL,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// startChild runs bin with args and waits until its log matches ready. The
// process is stopped (SIGTERM, then SIGKILL after 20s) in t.Cleanup unless
// the test killed it already.
func startChild(t *testing.T, name, bin string, env []string, ready *regexp.Regexp, args ...string) *child {
	t.Helper()
	c := &child{name: name, cmd: exec.Command(bin, args...), logs: newSyncBuffer(), exited: make(chan error, 1)}
	c.cmd.Env = env
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState != nil {
			return
		}
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
			t.Errorf("%s did not stop within 20s of SIGTERM", c.name)
		}
	})
	c.logs.waitFor(t, ready, c.exited)
	return c
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running 10s after SIGKILL", c.name)
	}
}

// assertOneOfEach checks through the SDK that IAM holds exactly the roles
// named in want, each with exactly rolegate's one inline policy, no attached
// policy, ownership tags naming its request, and exactly one instance
// profile holding only that role; and nothing else.
func assertOneOfEach(t *testing.T, ctx context.Context, api *iam.Client, want map[string]int64) {
	t.Helper()
	var roles []string
	for p := iam.NewListRolesPaginator(api, &iam.ListRolesInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Roles {
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}
	profiles := map[string][]string{}
	for p := iam.NewListInstanceProfilesPaginator(api, &iam.ListInstanceProfilesInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range page.InstanceProfiles {
			name := aws.ToString(ip.InstanceProfileName)
			if _, dup := profiles[name]; dup {
				t.Errorf("instance profile %s listed twice", name)
			}
			profiles[name] = []string{}
			for _, r := range ip.Roles {
				profiles[name] = append(profiles[name], aws.ToString(r.RoleName))
			}
		}
	}
	if len(roles) != len(want) || len(profiles) != len(want) {
		t.Errorf("IAM has %d roles and %d instance profiles for %d requests", len(roles), len(profiles), len(want))
	}
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, name := range roles {
		if seen[name] {
			t.Errorf("role %s listed twice", name)
		}
		seen[name] = true
		id, ok := want[name]
		if !ok {
			t.Errorf("role %s belongs to no request", name)
			continue
		}
		if got := profiles[name]; len(got) != 1 || got[0] != name {
			t.Errorf("instance profile %s holds %v, want exactly [%s]", name, got, name)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			problems := roleProblems(ctx, api, name, id)
			mu.Lock()
			defer mu.Unlock()
			for _, p := range problems {
				t.Error(p)
			}
		}()
	}
	wg.Wait()
	for name := range profiles {
		if _, ok := want[name]; !ok {
			t.Errorf("instance profile %s belongs to no request", name)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("request %s has no role", name)
		}
	}
}

func roleProblems(ctx context.Context, api *iam.Client, name string, id int64) []string {
	var out []string
	inline, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	if len(inline.PolicyNames) != 1 || inline.PolicyNames[0] != provision.InlinePolicyName {
		out = append(out, fmt.Sprintf("role %s has inline policies %v, want exactly [%s]", name, inline.PolicyNames, provision.InlinePolicyName))
	}
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return append(out, fmt.Sprintf("%s: %v", name, err))
	}
	if len(attached.AttachedPolicies) != 0 {
		out = append(out, fmt.Sprintf("role %s has %d attached policies, want none", name, len(attached.AttachedPolicies)))
	}
	tags, err := api.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
	if err != nil {
		return append(out, fmt.Sprintf("%s: %v", name, err))
	}
	owner := ""
	for _, tg := range tags.Tags {
		if aws.ToString(tg.Key) == provision.TagRequestID {
			owner = aws.ToString(tg.Value)
		}
	}
	if owner != fmt.Sprint(id) {
		out = append(out, fmt.Sprintf("role %s is tagged for request %q, want %d", name, owner, id))
	}
	return out
}

// TestWorkerKilledAtRandomMoments runs `rolegate worker` as a process against
// the local IAM endpoint (20ms per call), SIGKILLs it at random moments
// while it provisions, restarts it, and checks that every request ends
// active with exactly one role, inline policy and instance profile.
func TestWorkerKilledAtRandomMoments(t *testing.T) {
	t.Parallel()
	const (
		requests = 60
		kills    = 8
	)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(faultSeed, 1))
	t.Logf("seed %d: %d requests, up to %d kills", faultSeed, requests, kills)

	bin := buildBinary(t)
	iamSrv, iamURL := iamlocaltest.Start(t, iamlocal.Options{Latency: 20 * time.Millisecond})
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	want := createApproved(t, ctx, db, requests, "killed")

	env := childEnv(t, dbURL, iamURL)
	// --job-timeout 2s: a job a killed worker left running is rescued after
	// 4s; --iam-rate -1: the local endpoint needs no client-side limit.
	args := []string{"worker", "--drift-interval", "0", "--job-timeout", "2s", "--iam-rate", "-1",
		"--worker-concurrency", "4", "--db-max-conns", "6"}
	killed := 0
	for range kills {
		counts, err := statusCounts(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.StatusActive] == requests {
			break
		}
		w := startChild(t, fmt.Sprintf("worker %d", killed+1), bin, env, workerUpRE, args...)
		delay := time.Duration(100+rng.IntN(800)) * time.Millisecond
		before := iamSrv.WriteCalls()
		select {
		case <-time.After(delay): // the random moment itself, not a wait for a condition
		case err := <-w.exited:
			t.Fatalf("worker exited on its own: %v\n%s", err, w.logs)
		}
		w.kill(t)
		killed++
		t.Logf("kill %d after %s (%d IAM writes meanwhile, %v)", killed, delay, iamSrv.WriteCalls()-before, counts)
	}
	startChild(t, "final worker", bin, env, workerUpRE, args...)
	awaitAllActive(t, ctx, db, requests)

	var interrupted, attempts int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE attempt > 1), coalesce(sum(attempt), 0)
		FROM river_job WHERE kind = 'provision'`).Scan(&interrupted, &attempts); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills; %d provisioning jobs ran more than once; %d attempts for %d requests; %d IAM writes",
		killed, interrupted, attempts, requests, iamSrv.WriteCalls())
	if interrupted == 0 {
		t.Errorf("no kill interrupted a provisioning job: the suite did not test what it claims")
	}
	assertOneOfEach(t, ctx, iamlocaltest.Client(t, iamURL), want)
}

// TestScaleOutProvisionsEachRequestOnce runs two `rolegate worker` and two
// `rolegate serve` processes (each with its worker) on one database while
// 200 requests are approved: every request is provisioned exactly once,
// counted by IAM's create calls.
func TestScaleOutProvisionsEachRequestOnce(t *testing.T) {
	t.Parallel()
	const requests = 200
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	bin := buildBinary(t)
	iamSrv, iamURL := iamlocaltest.Start(t, iamlocal.Options{Latency: 10 * time.Millisecond})
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{MaxConns: 4})
	env := childEnv(t, dbURL, iamURL)
	common := []string{"--drift-interval", "0", "--iam-rate", "-1", "--worker-concurrency", "8", "--db-max-conns", "5"}

	var procs []*child
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, kind := range []string{"worker", "worker", "serve", "serve"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{kind}, common...)
			ready := workerUpRE
			if kind == "serve" {
				args = append(args, "--listen", "127.0.0.1:0")
				ready = listeningRE
			}
			c := startChild(t, fmt.Sprintf("%s %d", kind, i+1), bin, env, ready, args...)
			mu.Lock()
			procs = append(procs, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Approve from four goroutines while the processes work.
	var created atomic.Int32
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := g; i < requests; i += 4 {
				r, err := db.CreateRequest(ctx, store.NewRequest{Requester: faultRequester, Justification: "scale-out",
					Spec: provision.RoleSpec{Name: fmt.Sprintf("scaled-%03d", i),
						Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
				if err == nil {
					_, err = db.Decide(ctx, faultApprover, r.ID, r.Version, store.Decision{Approve: true})
				}
				if err != nil {
					errs <- err
					return
				}
				created.Add(1)
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	awaitAllActive(t, ctx, db, requests)

	for _, action := range []string{"CreateRole", "PutRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"} {
		if n := iamSrv.Calls(action); n != requests {
			t.Errorf("%s called %d times for %d requests, want exactly once each", action, n, requests)
		}
	}
	if n := iamSrv.WriteCalls(); n != 4*requests {
		t.Errorf("%d IAM write calls, want %d (four per request)", n, 4*requests)
	}
	// River records a job's completion just after the request turns active.
	awaitCondition(t, ctx, "every provisioning job is finalized", func() bool {
		var open int
		err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'provision'
			AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&open)
		return err == nil && open == 0
	})
	var jobs, repeated int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE attempt <> 1 OR state <> 'completed')
		FROM river_job WHERE kind = 'provision'`).Scan(&jobs, &repeated); err != nil {
		t.Fatal(err)
	}
	if jobs != requests || repeated != 0 {
		rows, err := db.Pool().Query(ctx, `SELECT id, state::text, attempt, coalesce(errors::text, '') FROM river_job WHERE kind = 'provision' AND (attempt <> 1 OR state <> 'completed') LIMIT 5`)
		if err == nil {
			for rows.Next() {
				var id int64
				var st, e string
				var a int
				if rows.Scan(&id, &st, &a, &e) == nil {
					t.Logf("job %d: %s after %d attempts: %s", id, st, a, e)
				}
			}
			rows.Close()
		}
		t.Errorf("%d provisioning jobs, %d of them not completed on their first attempt; want %d, 0", jobs, repeated, requests)
	}
	var shares []string
	busy := 0
	for _, c := range procs {
		n := strings.Count(c.logs.String(), "msg=provisioned")
		shares = append(shares, fmt.Sprintf("%s: %d", c.name, n))
		if n > 0 {
			busy++
		}
	}
	t.Logf("provisioned per process: %s", strings.Join(shares, ", "))
	if busy < 2 {
		t.Errorf("only %d process did the work (%s): the queue was not shared", busy, strings.Join(shares, ", "))
	}
}

// faultEnv is an in-process worker with rolegate's production IAM client
// (its retryer, retryable codes and retry quota; only the back-off is
// shortened) against a local IAM endpoint served over HTTP.
type faultEnv struct {
	db    *store.DB
	iam   *iamlocal.Server
	url   string
	calls *atomic.Int64 // HTTP requests that reached the endpoint
}

func startFaultEnv(t *testing.T, opts iamlocal.Options) *faultEnv {
	t.Helper()
	srv, err := iamlocal.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	calls := new(atomic.Int64)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	client := iam.NewFromConfig(iamlocaltest.Config(),
		provision.IAMClientOptions(provision.ClientOptions{RatePerSecond: -1, MaxBackoff: 20 * time.Millisecond}),
		func(o *iam.Options) { o.BaseEndpoint = aws.String(hs.URL) })
	set := provision.DefaultSettings()
	db := storetest.Open(t, storetest.URL(t), store.Options{MaxConns: 6, Settings: &set})
	w, err := worker.New(db.Pool(), db, worker.Config{
		Settings:          set,
		Reconciler:        provision.NewReconciler(client, provision.ReconcilerOptions{PollMinDelay: 5 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond}),
		Concurrency:       8,
		RetryBase:         50 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("stop worker: %v", err)
		}
	})
	return &faultEnv{db: db, iam: srv, url: hs.URL, calls: calls}
}

// TestIAMFaultsConvergeWithoutRetryStorms provisions 30 requests while IAM
// throttles 30% of calls and fails 5% with a 5xx: all become active, and the
// IAM calls stay within 3× those of the same requests without faults. Each
// call fails with probability 0.35, so a call costs 1/0.65 ≈ 1.54 attempts
// on average; an occasional job retried as a whole re-reads what exists.
// 3× leaves room for that and for chance, while a storm (retrying whole jobs
// on every fault, or unbounded per-call retries) lands far above it. Then a
// permanent error fails its request once, with IAM's reason, unretried.
func TestIAMFaultsConvergeWithoutRetryStorms(t *testing.T) {
	t.Parallel()
	const requests = 30
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	clean := startFaultEnv(t, iamlocal.Options{Latency: 5 * time.Millisecond})
	createApproved(t, ctx, clean.db, requests, "steady")
	awaitAllActive(t, ctx, clean.db, requests)
	baseline := clean.calls.Load()

	faulty := startFaultEnv(t, iamlocal.Options{Latency: 5 * time.Millisecond, ThrottleRate: 0.3, FailureRate: 0.05, Seed: faultSeed})
	want := createApproved(t, ctx, faulty.db, requests, "steady")
	awaitAllActive(t, ctx, faulty.db, requests)
	total := faulty.calls.Load()
	t.Logf("IAM calls for %d requests: %d without faults, %d with 30%% throttling and 5%% 5xx (%.2f×)",
		requests, baseline, total, float64(total)/float64(baseline))
	if total > 3*baseline {
		t.Errorf("%d IAM calls under faults, more than 3× the %d without: a retry storm", total, baseline)
	}
	var jobRetries int
	if err := faulty.db.Pool().QueryRow(ctx, `SELECT coalesce(sum(attempt - 1), 0) FROM river_job WHERE kind = 'provision'`).Scan(&jobRetries); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d whole-job retries", jobRetries)
	// The check reads through the same faults, so it may retry more.
	patient := iam.NewFromConfig(iamlocaltest.Config(), func(o *iam.Options) {
		o.BaseEndpoint = aws.String(faulty.url)
		o.RetryMaxAttempts = 30
	})
	assertOneOfEach(t, ctx, patient, want)

	// A permanent error: the next CreateRole is refused as malformed (a
	// planned failure wins over the random ones).
	before := faulty.iam.Calls("CreateRole")
	faulty.iam.FailNth("CreateRole", 1, "MalformedPolicyDocument")
	r, err := faulty.db.CreateRequest(ctx, store.NewRequest{Requester: faultRequester, Justification: "fault suite",
		Spec: provision.RoleSpec{Name: "doomed", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := faulty.db.Decide(ctx, faultApprover, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	var state string
	var attempt int
	awaitCondition(t, ctx, "the failed request's job is finalized", func() bool {
		err := faulty.db.Pool().QueryRow(ctx, `SELECT state, attempt FROM river_job WHERE kind = 'provision' AND (args->>'request_id')::bigint = $1`,
			r.ID).Scan(&state, &attempt)
		return err == nil && (state == "completed" || state == "discarded" || state == "cancelled")
	})
	got, err := faulty.db.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusFailed || !strings.Contains(got.StatusReason, "MalformedPolicyDocument") {
		t.Fatalf("request after a permanent error: %s (%q), want failed naming MalformedPolicyDocument", got.Status, got.StatusReason)
	}
	if state != "completed" || attempt != 1 {
		t.Errorf("the job of a permanently failed request is %s after %d attempts, want completed after 1", state, attempt)
	}
	if n := faulty.iam.Calls("CreateRole") - before; n != 1 {
		t.Errorf("CreateRole called %d times for the permanently failing request, want 1", n)
	}
}

// awaitCondition polls cond until it holds, failing the test when ctx ends.
func awaitCondition(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}
