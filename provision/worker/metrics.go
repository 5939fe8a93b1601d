package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rolegate/rolegate/provision"
)

// The outcomes of one run of a job (rolegate_jobs_total's outcome label).
const (
	outcomeSucceeded = "succeeded"
	// outcomeRetried: the job runs again later: it failed with attempts
	// left, waits for another job of its request (a snooze, which uses no
	// attempt), or was interrupted by the worker stopping.
	outcomeRetried = "retried"
	// outcomeFailed: the job gave up: it failed in its last attempt (River
	// discards it), or it recorded its request as failed (IAM refused for
	// good, or its last attempt failed; the job itself then succeeds in
	// River's eyes).
	outcomeFailed    = "failed"
	outcomeCancelled = "cancelled"
)

// waitingTimeout bounds the query behind rolegate_jobs_waiting, so a slow
// database delays a scrape by this much at most.
const waitingTimeout = 2 * time.Second

// metrics are the worker's Prometheus metrics; a nil *metrics records
// nothing.
type metrics struct {
	jobs        *prometheus.CounterVec
	jobSeconds  *prometheus.HistogramVec
	driftRoles  *prometheus.GaugeVec
	driftChecks *prometheus.CounterVec
}

// newMetrics registers the worker's metrics on reg for the job kinds the
// worker runs (the only values of their kind label), the queue's waiting
// jobs read from st at each scrape. It returns nil for a nil reg, and an
// error when reg refuses one (it holds a metric of the same name).
func newMetrics(reg prometheus.Registerer, st Store, log *slog.Logger, kinds []string) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_jobs_total",
			Help: "Runs of jobs by kind and outcome: succeeded, retried (runs again later), failed (last attempt; discarded) or cancelled.",
		}, []string{"kind", "outcome"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rolegate_job_duration_seconds",
			Help:    "How long one run of a job took, whatever its outcome.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600},
		}, []string{"kind"}),
		driftRoles: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rolegate_drift_roles",
			Help: "Live roles the last periodic drift check found drifted, by account.",
		}, []string{"account"}),
		driftChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_drift_checks_total",
			Help: "Periodic drift checks by outcome: ok, partial (some accounts could not be checked) or error.",
		}, []string{"outcome"}),
	}
	waiting := &waitingCollector{st: st, log: log, kinds: kinds, desc: prometheus.NewDesc("rolegate_jobs_waiting",
		"Jobs in the queue waiting to run (available, retryable or scheduled), by kind.", []string{"kind"}, nil)}
	for _, c := range []prometheus.Collector{m.jobs, m.jobSeconds, m.driftRoles, m.driftChecks, waiting} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every kind shows from the start, at zero, so a rate over a kind
	// that has not run yet is 0 rather than absent.
	for _, kind := range kinds {
		for _, o := range []string{outcomeSucceeded, outcomeRetried, outcomeFailed, outcomeCancelled} {
			m.jobs.WithLabelValues(kind, o)
		}
	}
	return m, nil
}

// middleware is River's worker middleware that counts and times every
// run of a job; nil when there are no metrics.
func (m *metrics) middleware() []rivertype.Middleware {
	if m == nil {
		return nil
	}
	return []rivertype.Middleware{&jobObserver{m: m}}
}

// jobObserver wraps every run of a job, so no job's own code needs to
// know about metrics. It sees what the job returned before River acts on
// it, and tells the outcome by River's own rules (jobOutcome).
type jobObserver struct {
	river.MiddlewareDefaults
	m *metrics
}

func (o *jobObserver) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	start := time.Now()
	returned, failed := false, false
	var err error
	defer func() {
		if !returned {
			err = errPanicked // River recovers the panic and fails the attempt
		}
		outcome := jobOutcome(ctx, job, err)
		if failed && err == nil {
			outcome = outcomeFailed
		}
		o.m.jobSeconds.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds())
		o.m.jobs.WithLabelValues(job.Kind, outcome).Inc()
	}()
	err = doInner(context.WithValue(ctx, gaveUpKey{}, &failed))
	returned = true
	return err
}

type gaveUpKey struct{}

// gaveUp tells the job's observer, if any, that the job recorded its
// request as failed: the run ends without an error for River, but it
// failed for whoever asked.
func gaveUp(ctx context.Context) {
	if p, ok := ctx.Value(gaveUpKey{}).(*bool); ok {
		*p = true
	}
}

var errPanicked = errors.New("the job panicked")

// jobOutcome is what River does with a run of job that returned err, in
// its own order: a cancellation is final, a snooze runs again without
// using an attempt, a run cut short by the worker stopping (ctx, the
// worker's, ended) runs again, and an error in the last attempt is
// discarded.
func jobOutcome(ctx context.Context, job *rivertype.JobRow, err error) string {
	var cancel *rivertype.JobCancelError
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		return outcomeSucceeded
	case errors.As(err, &cancel):
		return outcomeCancelled
	case errors.As(err, &snooze):
		return outcomeRetried
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return outcomeRetried
	case job.Attempt >= job.MaxAttempts:
		return outcomeFailed
	}
	return outcomeRetried
}

// driftChecked records a periodic drift check: found is what it found,
// accounts every configured account, and err its error (CheckDrift's).
// An account the check could not read keeps its last count; when the
// check stopped before the end (the database failed) no count changes.
func (m *metrics) driftChecked(accounts []string, found []DriftResult, err error) {
	if m == nil {
		return
	}
	skipped := map[string]bool{}
	outcome := "ok"
	if err != nil {
		var acct *accountError
		for _, e := range flatten(err) {
			if !errors.As(e, &acct) {
				m.driftChecks.WithLabelValues("error").Inc()
				return
			}
			skipped[acct.account] = true
		}
		outcome = "partial"
	}
	m.driftChecks.WithLabelValues(outcome).Inc()
	drifted := map[string]int{}
	for _, r := range found {
		drifted[r.Account]++
	}
	for _, a := range accounts {
		if !skipped[a] {
			m.driftRoles.WithLabelValues(a).Set(float64(drifted[a]))
		}
	}
}

// flatten lists the errors joined in err (errors.Join), or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// waitingCollector reads the queue's waiting jobs at each scrape.
type waitingCollector struct {
	st    Store
	log   *slog.Logger
	kinds []string
	desc  *prometheus.Desc
}

func (c *waitingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reports every kind, 0 for those with no job waiting. When the
// database does not answer in time the metric is left out of the scrape
// (and a warning logged), so the other metrics are still served.
func (c *waitingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), waitingTimeout)
	defer cancel()
	counts, err := c.st.JobsWaiting(ctx)
	if err != nil {
		c.log.Warn("cannot count the jobs waiting for the metrics", "err", err)
		return
	}
	for _, kind := range c.kinds {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[kind]), kind)
	}
}

// IAMCallHook registers rolegate_iam_calls_total and
// rolegate_iam_call_duration_seconds on reg and returns the hook that
// records them, for provision.ClientOptions.OnCall: one count per
// attempt, by IAM operation and outcome (ok, throttled or error). It
// returns a nil hook for a nil reg, and an error when reg refuses a
// metric (it holds one of the same name).
func IAMCallHook(reg prometheus.Registerer) (provision.CallHook, error) {
	if reg == nil {
		return nil, nil
	}
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rolegate_iam_calls_total",
		Help: "Attempts of IAM calls by operation and outcome: ok, throttled or error (retries each count).",
	}, []string{"operation", "outcome"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rolegate_iam_call_duration_seconds",
		Help:    "How long one attempt of an IAM call took, the client-side rate limit's wait included.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"operation"})
	for _, c := range []prometheus.Collector{calls, seconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return func(op string, d time.Duration, err error) {
		outcome := "ok"
		switch {
		case provision.IsThrottling(err):
			outcome = "throttled"
		case err != nil:
			outcome = "error"
		}
		calls.WithLabelValues(op, outcome).Inc()
		seconds.WithLabelValues(op).Observe(d.Seconds())
	}, nil
}
