package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/jobargs"
)

// setupMetered is setup with the worker's metrics on a registry of the
// test's own, and its IAM client built as rolegate builds it
// (provision.ClientOptions, here making clientAttempts attempts a call)
// with the IAM calls counted there too. mod, if not nil, tunes the worker
// further.
func setupMetered(t *testing.T, clientAttempts int, mod func(*worker.Config)) (*env, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	hook, err := worker.IAMCallHook(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv, url := iamlocaltest.Start(t, iamlocal.Options{})
	client := iam.NewFromConfig(iamlocaltest.Config(),
		provision.IAMClientOptions(provision.ClientOptions{RatePerSecond: -1, MaxAttempts: clientAttempts, MaxBackoff: time.Millisecond, OnCall: hook}),
		func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	e := setup(t, func(c *worker.Config, _ *store.Options) {
		c.Registerer = reg
		c.Reconciler = provision.NewReconciler(client, provision.ReconcilerOptions{PollMinDelay: 5 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond})
		if mod != nil {
			mod(c)
		}
	})
	e.iam, e.api, e.url = srv, iamlocaltest.Client(t, url), url
	return e, reg
}

// metricValue is the value of the sample of metric name whose labels are
// exactly labels ("k=v,k=v"), and whether there is one.
func metricValue(t *testing.T, g prometheus.Gatherer, name, labels string) (float64, bool) {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(pairs, ",") != labels {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// awaitMetric waits until the sample of name with labels has value want.
func awaitMetric(t *testing.T, g prometheus.Gatherer, name, labels string, want float64) {
	t.Helper()
	eventually(t, func() (bool, string) {
		got, ok := metricValue(t, g, name, labels)
		return ok && got == want, fmt.Sprintf("%s{%s} = %v (present %v), want %v", name, labels, got, ok, want)
	})
}

func TestMetricsCountProvisioningAndIAMCalls(t *testing.T) {
	t.Parallel()
	e, reg := setupMetered(t, 5, nil)
	e.activate("metered")

	awaitMetric(t, reg, "rolegate_jobs_total", "kind=provision,outcome=succeeded", 1)
	wantMetrics(t, reg, []metricWant{
		{"rolegate_jobs_total", "kind=provision,outcome=retried", 0},
		{"rolegate_jobs_total", "kind=provision,outcome=failed", 0},
		{"rolegate_job_duration_seconds", "kind=provision", 1},
		{"rolegate_iam_calls_total", "operation=CreateRole,outcome=ok", 1},
		{"rolegate_iam_call_duration_seconds", "operation=CreateRole", 1},
	})
	// Nothing waits once the request is live: the gauge says so for every
	// kind, read from the queue at the scrape.
	awaitMetric(t, reg, "rolegate_jobs_waiting", "kind=provision", 0)
	// Every kind the worker runs shows from the start, at zero, in both.
	for _, a := range []river.JobArgs{jobargs.Provision{}, jobargs.Revoke{}, jobargs.Webhook{}, jobargs.Expire{},
		jobargs.Drift{}, jobargs.Seal{}, jobargs.Review{}} {
		if _, ok := metricValue(t, reg, "rolegate_jobs_waiting", "kind="+a.Kind()); !ok {
			t.Errorf("rolegate_jobs_waiting has no sample for kind %s", a.Kind())
		}
		if _, ok := metricValue(t, reg, "rolegate_jobs_total", "kind="+a.Kind()+",outcome=failed"); !ok {
			t.Errorf("rolegate_jobs_total has no sample for kind %s", a.Kind())
		}
	}
}

// IAM throttling and a 5xx in one call that runs out of attempts: the
// attempts are counted by outcome, and the job is retried, then
// succeeds.
func TestMetricsCountThrottlingAndRetries(t *testing.T) {
	t.Parallel()
	e, reg := setupMetered(t, 2, nil)
	e.iam.FailNth("CreateRole", 1, "Throttling")
	e.iam.FailNth("CreateRole", 2, "ServiceFailure")
	e.activate("throttled")

	awaitMetric(t, reg, "rolegate_jobs_total", "kind=provision,outcome=succeeded", 1)
	wantMetrics(t, reg, []metricWant{
		{"rolegate_jobs_total", "kind=provision,outcome=retried", 1},
		{"rolegate_iam_calls_total", "operation=CreateRole,outcome=throttled", 1},
		{"rolegate_iam_calls_total", "operation=CreateRole,outcome=error", 1},
		{"rolegate_iam_calls_total", "operation=CreateRole,outcome=ok", 1},
	})
}

// A request IAM refuses for good fails: its job counts as failed, though
// River saw it end without an error.
func TestMetricsCountAFailedProvisioning(t *testing.T) {
	t.Parallel()
	e, reg := setupMetered(t, 5, nil)
	e.iam.FailNth("CreateRole", 1, "MalformedPolicyDocument")
	r := e.submit("refused")
	e.approve(r)
	e.await(r.ID, store.StatusFailed)
	awaitMetric(t, reg, "rolegate_jobs_total", "kind=provision,outcome=failed", 1)
	if got, _ := metricValue(t, reg, "rolegate_jobs_total", "kind=provision,outcome=succeeded"); got != 0 {
		t.Errorf("the failed provisioning also counted %v succeeded", got)
	}
}

// The periodic drift check counts its runs and the roles it found
// drifted, by account.
func TestMetricsCountDriftChecks(t *testing.T) {
	t.Parallel()
	e, reg := setupMetered(t, 5, nil)
	e.activate("steady")
	e.activate("tampered")
	e.deleteRoleByHand("tampered")
	// The periodic job's run, queued now rather than waited for.
	queue, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := queue.Insert(context.Background(), jobargs.Drift{}, nil); err != nil {
		t.Fatal(err)
	}
	awaitMetric(t, reg, "rolegate_drift_checks_total", "outcome=ok", 1)
	if got, ok := metricValue(t, reg, "rolegate_drift_roles", "account="+provision.DefaultAccountName); !ok || got != 1 {
		t.Errorf("rolegate_drift_roles{account=default} = %v (present %v), want 1", got, ok)
	}
}

// A job nobody has taken yet counts as waiting, read from the queue at
// the scrape: here the worker is stopped when the request is approved.
func TestMetricsCountJobsWaiting(t *testing.T) {
	t.Parallel()
	e, reg := setupMetered(t, 5, nil)
	awaitMetric(t, reg, "rolegate_jobs_waiting", "kind=provision", 0)
	e.stop()
	e.approve(e.submit("queued"))
	awaitMetric(t, reg, "rolegate_jobs_waiting", "kind=provision", 1)
}

// metricWant is a sample a test expects: its metric, labels ("k=v,k=v")
// and value.
type metricWant struct {
	name, labels string
	want         float64
}

// wantMetrics checks each sample of wants is present with its value.
func wantMetrics(t *testing.T, reg prometheus.Gatherer, wants []metricWant) {
	t.Helper()
	for _, w := range wants {
		if got, ok := metricValue(t, reg, w.name, w.labels); !ok || got != w.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", w.name, w.labels, got, ok, w.want)
		}
	}
}

// The STS calls that reach a spoke (AssumeRole) are counted beside IAM's:
// an account whose role cannot be assumed shows in the metrics.
func TestMetricsCountAssumeRole(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	hook, err := worker.IAMCallHook(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := setupAccounts(t, world{ExternalID: prodTrusted.ExternalID, IAM: func(o *provision.ReconcilersOptions, _ *atomic.Int64) {
		o.Client.OnCall = hook
	}})
	before, _ := metricValue(t, reg, "rolegate_iam_calls_total", "operation=AssumeRole,outcome=ok")
	e.activeInBoth("assumed")
	if after, ok := metricValue(t, reg, "rolegate_iam_calls_total", "operation=AssumeRole,outcome=ok"); !ok || after <= before {
		t.Errorf("AssumeRole calls counted: %v before provisioning into the spoke, %v after (present %v)", before, after, ok)
	}
	if n, ok := metricValue(t, reg, "rolegate_iam_calls_total", "operation=CreateRole,outcome=ok"); !ok || n != 2 {
		t.Errorf("CreateRole calls counted: %v (present %v), want one an account", n, ok)
	}
}
