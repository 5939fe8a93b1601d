// Package worker runs rolegate's background jobs on River, in the same
// PostgreSQL as the requests: provisioning approved requests through the
// reconciler, revoking and expiring roles, checking for drift and
// delivering webhooks. Several workers may share one database: River hands
// each job to one of them, and the store's guarded transitions make a job
// that runs twice harmless.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/jobargs"
)

// Store is the worker's view of the store: the worker-side transitions of
// the request lifecycle.
type Store interface {
	BeginProvisioning(ctx context.Context, id int64, version int) (store.Work, error)
	CompleteProvisioning(ctx context.Context, id int64, version int, res store.ProvisionResult) error
	FailProvisioning(ctx context.Context, id int64, version int, reason string) error
	StillProvisioning(ctx context.Context, id int64, version int) error
	BeginRevocation(ctx context.Context, id int64) (store.Work, error)
	CompleteRevocation(ctx context.Context, id int64, steps []store.Step) (store.Request, error)
	FailRevocation(ctx context.Context, id int64, reason string) error
	ExpireDue(ctx context.Context) (int, error)
	FailOrphaned(ctx context.Context) (int, error)
	RemindExpiring(ctx context.Context, within time.Duration) (int, error)
	RemindReviews(ctx context.Context) (int, error)
	RevokeLapsedReviews(ctx context.Context) (int, error)
	RecordDrift(ctx context.Context, id int64, version int, changes []string, repaired bool) error
	Repair(ctx context.Context, id int64, version int, fn func(ctx context.Context, check func(context.Context) error) error) error
	LiveWork(ctx context.Context, afterID int64, limit int) ([]store.Work, error)
	DeleteExpiredIdempotencyKeys(ctx context.Context, olderThan time.Duration) (int64, error)
	SealAudit(ctx context.Context) (int, error)
	// JobsWaiting counts the queue's jobs waiting to run, by kind, for
	// the metrics.
	JobsWaiting(ctx context.Context) (map[string]int64, error)
	// Installation is the database's installation ID ("" before it is
	// migrated): every plan the worker applies carries it.
	Installation() string
	// AdoptsUpTo is the last of the database's requests made before it
	// drew its installation ID: every plan the worker applies carries it.
	AdoptsUpTo() int64
}

// ownSettings returns set with the installation ID of st, the database
// whose request IDs the plans tag roles with, and the last of its
// requests that may own a role without the tag: a plan tagged with
// another database's ID would take that installation's roles for its
// own, one with none would refuse its own, and one adopting for any
// request would take another installation's untagged role of a later
// request's number. It returns an error when st has no ID (not migrated)
// or set names another.
func ownSettings(st Store, set provision.Settings) (provision.Settings, error) {
	id := st.Installation()
	switch {
	case id == "":
		return set, errors.New("the database has no installation ID: migrate it (rolegate migrate up)")
	case set.Installation != "" && set.Installation != id:
		return set, fmt.Errorf("the settings name installation %s but the database is installation %s", set.Installation, id)
	}
	set.Installation, set.AdoptsUpTo = id, st.AdoptsUpTo()
	return set, nil
}

// Config tunes the worker. Zero values take the defaults named.
type Config struct {
	Settings provision.Settings
	// Reconcilers act in each account of Settings (provision.NewReconcilers);
	// when nil, Reconciler serves every account (one account, or tests).
	Reconcilers *provision.Reconcilers
	Reconciler  *provision.Reconciler
	Logger      *slog.Logger
	// Concurrency is how many jobs run at once; default 8.
	Concurrency int
	// MaxAttempts of a job before it gives up (and the request fails);
	// default 10.
	MaxAttempts int
	// RetryBase is the first back-off between job attempts, doubling up
	// to 5 minutes; default 2s.
	RetryBase time.Duration
	// ExpiryInterval is how often expired roles are revoked and reminders
	// sent; default 1m.
	ExpiryInterval time.Duration
	// RemindBefore sends the expiry reminder this long before expiry; 0
	// disables reminders.
	RemindBefore time.Duration
	// DriftInterval is how often active roles are compared with their
	// plans; 0 disables the periodic check.
	DriftInterval time.Duration
	// ReviewCheckInterval is how often access reviews are checked:
	// reminders sent and unanswered roles revoked (the store's
	// ReviewPolicy says when each is due); 0 disables the periodic check.
	ReviewCheckInterval time.Duration
	// RepairDrift makes the drift check put IAM back to the plan.
	RepairDrift bool
	// SealInterval is how often new audit events are chained into the
	// audit trail's hash chain; default 5s.
	SealInterval time.Duration
	// WebhookURLs are the receivers webhook jobs name (by
	// jobargs.ReceiverID); a job naming none of them is dropped.
	WebhookURLs []string
	// WebhookSecret signs webhook bodies (HMAC-SHA256).
	WebhookSecret string
	// HTTPClient delivers webhooks; default a client with a 10s timeout.
	HTTPClient *http.Client
	// FetchPollInterval is how often idle workers look for jobs besides
	// being notified; default River's (1s). Tests lower it.
	FetchPollInterval time.Duration
	// FetchCooldown is the shortest time between two fetches of new jobs;
	// default 20ms. River's own default (100ms) leaves a freed slot idle
	// for 50ms on average, a tenth of a 500ms provisioning job; fetches
	// happen only when slots free up or jobs arrive.
	FetchCooldown time.Duration
	// JobTimeout is how long one job may run before its context is
	// cancelled (it is then retried); default 10m. A job left running by a
	// worker that died (SIGKILL, lost host) is rescued and retried once it
	// has been running for twice this, so it also bounds how long such a
	// request waits.
	JobTimeout time.Duration
	// Registerer, when set, gets the worker's metrics (metrics.go): jobs
	// run by kind and outcome and their duration, jobs waiting in the
	// queue, and the periodic drift check's findings. The IAM calls'
	// metrics are the IAM client's (IAMCallHook).
	Registerer prometheus.Registerer
}

// Worker is a running River client with rolegate's job workers.
type Worker struct {
	client *river.Client[pgx.Tx]
	jobs   *jobs
}

// New builds the worker on pool. Its plans carry the installation ID of
// st and the last request it adopts untagged roles for (cfg.Settings need
// name neither). It returns an error when st has
// none, when cfg.Settings name another, when cfg.Registerer refuses the
// metrics (it has them already), or when River refuses the
// configuration.
func New(pool *pgxpool.Pool, st Store, cfg Config) (*Worker, error) {
	if cfg.Reconcilers == nil && cfg.Reconciler == nil {
		return nil, errors.New("worker: a reconciler is required")
	}
	if cfg.Reconcilers == nil {
		cfg.Reconcilers = provision.SingleAccount(cfg.Reconciler)
	}
	var err error
	if cfg.Settings, err = ownSettings(st, cfg.Settings); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 2 * time.Second
	}
	if cfg.ExpiryInterval <= 0 {
		cfg.ExpiryInterval = time.Minute
	}
	if cfg.SealInterval <= 0 {
		cfg.SealInterval = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = 20 * time.Millisecond
	}
	if cfg.FetchPollInterval > 0 && cfg.FetchPollInterval < cfg.FetchCooldown {
		cfg.FetchCooldown = cfg.FetchPollInterval
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 10 * time.Minute
	}
	j := &jobs{st: st, cfg: cfg, log: cfg.Logger}
	workers, kinds := river.NewWorkers(), []string{}
	j.register(workers, &kinds)
	m, err := newMetrics(cfg.Registerer, st, cfg.Logger, kinds)
	if err != nil {
		return nil, fmt.Errorf("worker: metrics: %w", err)
	}
	j.metrics = m

	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(cfg.ExpiryInterval),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.Expire{}, nil },
			&river.PeriodicJobOpts{ID: "expire", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(cfg.SealInterval),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.Seal{}, nil },
			&river.PeriodicJobOpts{ID: "audit-seal", RunOnStart: true}),
	}
	if cfg.DriftInterval > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.DriftInterval),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.Drift{}, nil },
			&river.PeriodicJobOpts{ID: "drift"}))
	}
	if cfg.ReviewCheckInterval > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.ReviewCheckInterval),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.Review{}, nil },
			&river.PeriodicJobOpts{ID: "access-review", RunOnStart: true}))
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}},
		Workers:              workers,
		Middleware:           m.middleware(),
		PeriodicJobs:         periodic,
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          backoff{base: cfg.RetryBase},
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: 2 * cfg.JobTimeout,
		FetchCooldown:        cfg.FetchCooldown,
		FetchPollInterval:    cfg.FetchPollInterval,
		Logger:               slog.New(quietHandler{cfg.Logger.Handler()}).WithGroup("river"),
	})
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return &Worker{client: client, jobs: j}, nil
}

// Start begins working jobs; it returns at once. The jobs see ctx's
// values but not its end: River takes a cancelled start context as a hard
// stop that cancels every running job, so a SIGTERM would cut a
// provisioning off between two IAM calls. Stop ends the worker, softly.
func (w *Worker) Start(ctx context.Context) error {
	return w.client.Start(context.WithoutCancel(ctx))
}

// Stop stops fetching new jobs and waits for running ones to finish, until
// ctx ends; then it cancels them (they are retried later).
func (w *Worker) Stop(ctx context.Context) error {
	err := w.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return w.client.StopAndCancel(context.WithoutCancel(ctx))
	}
	return err
}

// backoff retries jobs after base, 2×base, 4×base ... capped at five
// minutes, with ±20% jitter so failed jobs do not return in lockstep.
type backoff struct{ base time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base << min(job.Attempt-1, 20)
	if d <= 0 || d > 5*time.Minute {
		d = 5 * time.Minute
	}
	jitter := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return time.Now().Add(jitter)
}
