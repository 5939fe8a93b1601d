package main

import (
	"context"
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

// faultEnv is an in-process worker with rolegate's production IAM client
// (its retryer, retryable codes and retry quota; only the back-off is
// shortened) against a local IAM endpoint served over HTTP.
type faultEnv struct {
	db    *store.DB
	iam   *iamlocal.Server
	url   string
	calls *atomic.Int64 // HTTP requests that reached the endpoint
}

// startFaultEnv starts a faultEnv whose endpoint injects the faults of opts.
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
