package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// benchProvision measures, at each worker concurrency, how long the worker
// takes to provision the approved requests against the local IAM endpoint
// with a fixed latency per call, against the floor: the fewest calls a new
// role of the bench's plan shape can cost (provision.Plan.CreateCalls, not
// the calls observed) × the latency ÷ the concurrency. After the last run
// it applies every plan again, which must make no write call.
func benchProvision(ctx context.Context, e *env) ([]tableRow, error) {
	plan, err := provision.NewPlan(benchSpec(0), provision.DefaultSettings(), provision.PlanMeta{RequestID: "bench"})
	if err != nil {
		return nil, err
	}
	var rows []tableRow
	for i, conc := range e.settings.Concurrency {
		got, err := provisionRun(ctx, e, conc, plan.CreateCalls(), i == len(e.settings.Concurrency)-1)
		rows = append(rows, got...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// callCounter counts the calls reaching an endpoint and the time they
// spend in it. latency, when set, is added to each call: the drift section
// seeds its roles without it, then measures with it.
type callCounter struct {
	next    http.Handler
	calls   atomic.Int64
	nanos   atomic.Int64
	latency atomic.Int64
}

func (h *callCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.calls.Add(1)
	if d := time.Duration(h.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	h.next.ServeHTTP(w, r)
	h.nanos.Add(int64(time.Since(start)))
}

// timedClient measures IAM calls as the worker sees them, transport and
// client-side queueing included.
type timedClient struct {
	next  iam.HTTPClient
	calls atomic.Int64
	nanos atomic.Int64
}

func (c *timedClient) Do(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.next.Do(req)
	c.calls.Add(1)
	c.nanos.Add(int64(time.Since(start)))
	return resp, err
}

func meanOf(nanos, calls int64) time.Duration {
	if calls == 0 {
		return 0
	}
	return time.Duration(nanos / calls)
}

// benchIAM is an in-process local IAM endpoint on loopback and an IAM
// client for it with rolegate's retryer and no client-side rate limit.
type benchIAM struct {
	srv     *iamlocal.Server
	counter *callCounter
	timed   *timedClient
	client  *iam.Client
	close   func()
}

func startBenchIAM(opts iamlocal.Options) (*benchIAM, error) {
	srv, err := iamlocal.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	counter := &callCounter{next: srv}
	hs := &http.Server{Handler: counter, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln) //nolint:errcheck // ends with Close
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", "")}
	timed := &timedClient{next: awshttp.NewBuildableClient()}
	client := iam.NewFromConfig(cfg, provision.IAMClientOptions(provision.ClientOptions{RatePerSecond: -1}),
		func(o *iam.Options) {
			o.BaseEndpoint = aws.String("http://" + ln.Addr().String())
			o.HTTPClient = timed
		})
	return &benchIAM{srv: srv, counter: counter, timed: timed, client: client, close: func() { hs.Close() }}, nil
}

func provisionRun(ctx context.Context, e *env, conc, floorCalls int, secondApply bool) ([]tableRow, error) {
	n := e.settings.Requests
	set := provision.DefaultSettings()
	db, _, err := e.newStore(ctx, fmt.Sprintf("c%d", conc), store.Options{MaxConns: int32(min(conc+6, 40)), Settings: &set})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ib, err := startBenchIAM(iamlocal.Options{Latency: e.settings.Latency})
	if err != nil {
		return nil, err
	}
	defer ib.close()

	created := time.Now()
	if err := createApprovedBench(ctx, db, n); err != nil {
		return nil, err
	}
	e.logf("concurrency %d: %d requests created and approved in %s", conc, n, time.Since(created).Round(time.Millisecond))

	rec := provision.NewReconciler(ib.client, provision.ReconcilerOptions{})
	st := &timedStore{DB: db}
	w, err := worker.New(db.Pool(), st, worker.Config{
		Settings: set, Reconciler: rec, Logger: e.logger(), Concurrency: conc,
	})
	if err != nil {
		return nil, err
	}
	ib.counter.calls.Store(0)
	ib.counter.nanos.Store(0)
	ib.timed.calls.Store(0)
	ib.timed.nanos.Store(0)
	writes0 := ib.srv.WriteCalls()
	start := time.Now()
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	floor := time.Duration(float64(floorCalls*n) * float64(e.settings.Latency) / float64(conc))
	// Bounded: five times the floor, plus a minute.
	waitCtx, cancel := context.WithTimeout(ctx, 5*floor+time.Minute)
	err = awaitActive(waitCtx, db, n)
	cancel()
	wall := time.Since(start)
	stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	stopErr := w.Stop(stopCtx)
	stopCancel()
	if err != nil {
		return nil, fmt.Errorf("concurrency %d: %w", conc, errors.Join(err, stopErr))
	}
	calls := ib.counter.calls.Load()
	writes := ib.srv.WriteCalls() - writes0
	perRequest := float64(calls) / float64(n)
	ratio := wall.Seconds() / floor.Seconds()
	row := tableRow{
		section:  "provision",
		name:     fmt.Sprintf("%d requests, worker concurrency %d", n, conc),
		measured: fmt.Sprintf("%s (%.1f req/s, %.2f IAM calls/req)", wall.Round(10*time.Millisecond), float64(n)/wall.Seconds(), perRequest),
		baseline: fmt.Sprintf("%s floor (%d calls/req × %s ÷ %d)", floor.Round(10*time.Millisecond), floorCalls, e.settings.Latency, conc),
		ratio:    ratio,
	}
	if conc == 32 {
		row.target, row.ok = "≤ 1.25× floor", ratio <= 1.25
	}
	var jobMean float64
	if err := db.Pool().QueryRow(ctx, `SELECT coalesce(avg(extract(epoch FROM finalized_at - attempted_at)), 0)
		FROM river_job WHERE kind = 'provision'`).Scan(&jobMean); err != nil {
		return nil, err
	}
	row.note = fmt.Sprintf("mean job %s (store: begin %s, complete %s); mean IAM call %s in the endpoint, %s as the worker sees it",
		time.Duration(jobMean*float64(time.Second)).Round(time.Millisecond),
		meanOf(st.beginNanos.Load(), st.begins.Load()).Round(100*time.Microsecond),
		meanOf(st.completeNanos.Load(), st.completes.Load()).Round(100*time.Microsecond),
		meanOf(ib.counter.nanos.Load(), calls).Round(100*time.Microsecond),
		meanOf(ib.timed.nanos.Load(), ib.timed.calls.Load()).Round(100*time.Microsecond))
	e.logf("concurrency %d: %s; %d calls, %d writes; %s", conc, row.measured, calls, writes, row.note)
	rows := []tableRow{row}
	if !secondApply {
		return rows, nil
	}

	again, err := applyAllAgain(ctx, db, rec, db.Settings(), ib, conc)
	if err != nil {
		return rows, fmt.Errorf("second apply: %w", err)
	}
	rows = append(rows, again...)
	return rows, nil
}

// createApprovedBench stores n read-only requests and approves each, from
// four connections at once.
func createApprovedBench(ctx context.Context, db *store.DB, n int) error {
	approver := store.Actor{Name: "bench-approver", Roles: []store.Role{store.RoleApprover}}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				r, err := db.CreateRequest(ctx, store.NewRequest{Requester: "bench-requester", Justification: "rolegate bench", Spec: benchSpec(i)})
				if err == nil {
					_, err = db.Decide(ctx, approver, r.ID, r.Version, store.Decision{Approve: true})
				}
				if err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// benchSpec is the spec of the bench's request i: one read-only scope.
func benchSpec(i int) provision.RoleSpec {
	return provision.RoleSpec{Name: fmt.Sprintf("bench-%06d", i),
		Buckets: []provision.BucketScope{{Bucket: "bench-bucket", Prefix: fmt.Sprintf("team-%d/", i%50), Access: provision.AccessRead}}}
}

// awaitActive waits until n requests are active; it returns an error when
// one fails or ctx ends first.
func awaitActive(ctx context.Context, db *store.DB, n int) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var active, failed int
		err := db.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'failed') FROM requests`).Scan(&active, &failed)
		switch {
		case err != nil && ctx.Err() == nil:
			return err
		case failed > 0:
			return fmt.Errorf("%d requests failed", failed)
		case active == n:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d requests active when the time ran out: %w", active, n, ctx.Err())
		case <-tick.C:
		}
	}
}

// applyAllAgain applies every active request's unchanged plan once more,
// conc at a time, and reports the IAM write calls that made (target 0) and
// the reads per plan (set: the store's, with its installation ID, as
// the worker's plans carry it).
func applyAllAgain(ctx context.Context, db *store.DB, rec *provision.Reconciler, set provision.Settings, ib *benchIAM, conc int) ([]tableRow, error) {
	writes0, calls0 := ib.srv.WriteCalls(), ib.counter.calls.Load()
	start := time.Now()
	work := make(chan store.Work)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				plan, err := store.PlanOf(w, set)
				if err == nil {
					_, err = rec.Apply(ctx, plan)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("request %d: %w", w.Request.ID, err):
					default:
					}
				}
			}
		}()
	}
	applied := 0
	var after int64
	var listErr error
	for {
		page, err := db.LiveWork(ctx, after, 200)
		if err != nil {
			listErr = err
			break
		}
		if len(page) == 0 {
			break
		}
		for _, w := range page {
			work <- w
			after = w.Request.ID
			applied++
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := errors.Join(listErr, <-errs); err != nil {
		return nil, err
	}
	writes := ib.srv.WriteCalls() - writes0
	reads := ib.counter.calls.Load() - calls0 - int64(writes)
	perPlan := float64(reads) / float64(max(applied, 1))
	return []tableRow{{
		section:  "provision",
		name:     fmt.Sprintf("second apply of %d unchanged plans: write calls", applied),
		measured: fmt.Sprintf("%d write calls (%s)", writes, time.Since(start).Round(10*time.Millisecond)),
		target:   "0 write calls",
		ok:       writes == 0,
	}, {
		section:  "provision",
		name:     fmt.Sprintf("second apply of %d unchanged plans: reads per plan", applied),
		measured: fmt.Sprintf("%.2f reads/plan (%d reads)", perPlan, reads),
		target:   "≤ 4 reads/plan",
		ok:       perPlan <= 4,
	}}, nil
}

// timedStore is the store as the worker sees it, timing the two
// transactions of every provisioning job.
type timedStore struct {
	*store.DB
	begins, beginNanos, completes, completeNanos atomic.Int64
}

func (s *timedStore) BeginProvisioning(ctx context.Context, id int64, version int) (store.Work, error) {
	start := time.Now()
	defer func() { s.begins.Add(1); s.beginNanos.Add(int64(time.Since(start))) }()
	return s.DB.BeginProvisioning(ctx, id, version)
}

func (s *timedStore) CompleteProvisioning(ctx context.Context, id int64, version int, res store.ProvisionResult) error {
	start := time.Now()
	defer func() { s.completes.Add(1); s.completeNanos.Add(int64(time.Since(start))) }()
	return s.DB.CompleteProvisioning(ctx, id, version, res)
}
