package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// defaultDBMaxConns is the database pool of serve, worker and dev unless
// --db-max-conns says otherwise; the bench's server uses it too.
const defaultDBMaxConns = 10

// The bounds of --request-timeout.
const (
	minRequestTimeout = 100 * time.Millisecond
	maxRequestTimeout = 50 * time.Second
)

// serverSettings are the settings of the HTTP server, shared by serve and dev.
type serverSettings struct {
	listen          string
	shutdownTimeout time.Duration
	maxConns        int
	apiRate         float64
	apiBurst        int
	readyTimeout    time.Duration
	requestTimeout  time.Duration
	metricsToken    string
	// rememberSessions runs the session watcher (store.WatchSessions).
	rememberSessions bool
	log              logSettings
}

// register adds the flags; an empty defListen means the process serves no
// HTTP (the worker) and gets no HTTP flags.
func (s *serverSettings) register(fs *flag.FlagSet, getenv func(string) string, defListen string, errs *settingErrors) {
	if defListen != "" {
		fs.StringVar(&s.listen, "listen", envString(getenv, "LISTEN_ADDR", defListen), "address to serve HTTP on [LISTEN_ADDR]")
		fs.DurationVar(&s.readyTimeout, "ready-timeout", envDuration(getenv, "READY_TIMEOUT", 2*time.Second, errs),
			"how long /readyz waits for the database before answering 503 [READY_TIMEOUT]")
		fs.DurationVar(&s.requestTimeout, "request-timeout", envDuration(getenv, "REQUEST_TIMEOUT", web.DefaultRequestTimeout, errs),
			"how long a request may take (waiting on a row lock, a slow query) before it stops and answers 503 with Retry-After; the health checks excepted [REQUEST_TIMEOUT]")
		fs.Float64Var(&s.apiRate, "api-rate", envFloat(getenv, "API_RATE_LIMIT", 10, errs),
			"API requests per second one token may make, sustained [API_RATE_LIMIT]")
		fs.IntVar(&s.apiBurst, "api-burst", envInt(getenv, "API_BURST", 40, errs),
			"API requests one token may make at once before the rate applies [API_BURST]")
		fs.BoolVar(&s.rememberSessions, "remember-sessions", envBool(getenv, "REMEMBER_SESSIONS", true, errs),
			"keep a connection outside the pool listening for changes to sessions, and answer a session read in the last 30s from memory while it hears them; off, every page reads its session (for a pooler in transaction mode, which drops notifications) [REMEMBER_SESSIONS]")
		fs.StringVar(&s.metricsToken, "metrics-token", getenv("METRICS_TOKEN"),
			"bearer token /metrics asks for; without one, /metrics answers this host only; prefer the environment variable [METRICS_TOKEN]")
	}
	fs.DurationVar(&s.shutdownTimeout, "shutdown-timeout", envDuration(getenv, "SHUTDOWN_TIMEOUT", 15*time.Second, errs),
		"how long in-flight requests, and then running jobs, may finish after SIGINT/SIGTERM [SHUTDOWN_TIMEOUT]")
	fs.IntVar(&s.maxConns, "db-max-conns", envInt(getenv, "DB_MAX_CONNS", defaultDBMaxConns, errs), "database connection pool size [DB_MAX_CONNS]")
	s.log.register(fs, getenv)
}

func (s *serverSettings) check(errs *settingErrors) {
	if s.listen != "" {
		checkListen(s.listen, errs)
		if !(s.apiRate >= 0.01 && s.apiRate <= 100000) { // NaN too
			errs.add("--api-rate / API_RATE_LIMIT: %v is not from 0.01 to 100000 requests per second", s.apiRate)
		}
		if s.apiBurst < 1 || s.apiBurst > 100000 {
			errs.add("--api-burst / API_BURST: %d is not from 1 to 100000", s.apiBurst)
		}
		checkReadyTimeout(s.readyTimeout, errs)
		// Below 100ms a busy but healthy database times out; above 50s the
		// server's write timeout (60s) cuts the answer off first.
		if s.requestTimeout < minRequestTimeout || s.requestTimeout > maxRequestTimeout {
			errs.add("--request-timeout / REQUEST_TIMEOUT: %s is not from %s to %s", s.requestTimeout, minRequestTimeout, maxRequestTimeout)
		}
		checkMetricsToken(s.metricsToken, errs)
	}
	if s.shutdownTimeout < 0 {
		errs.add("--shutdown-timeout / SHUTDOWN_TIMEOUT: %s is negative", s.shutdownTimeout)
	}
	// Two at least: migrating holds one connection for the advisory lock
	// while goose applies the migrations on another, and the worker keeps
	// one listening for new jobs.
	if s.maxConns < 2 || s.maxConns > 1000 {
		errs.add("--db-max-conns / DB_MAX_CONNS: %d is not from 2 to 1000", s.maxConns)
	}
}

func cmdServe(ctx context.Context, c cli) error {
	var (
		r        runFlags
		noWorker bool
	)
	fs := newFlagSet("serve", "serve [flags]", c.stderr)
	fs.BoolVar(&noWorker, "no-worker", envBool(c.getenv, "NO_WORKER", false, &r.errs), "serve HTTP only; run the worker elsewhere (rolegate worker) [NO_WORKER=true]")
	r.registerHTTP(fs, c.getenv, "PostgreSQL URL, e.g. postgres://rolegate@db:5432/rolegate (required) [DATABASE_URL]", false)
	o, logger, err := r.parse(fs, c, "not set; point it at PostgreSQL (or use `rolegate dev` for a local one)")
	if err != nil {
		return err
	}
	o.identity = r.web.identity("", &r.errs)
	if err := r.errs.err(fs); err != nil {
		return err
	}
	o.http, o.worker = true, !noWorker
	return runApp(ctx, logger, o)
}

// runFlags are the settings of the commands that run rolegate (serve,
// worker, dev): the database, the process, the app and, when it serves
// HTTP, the sign-in.
type runFlags struct {
	errs        settingErrors
	server      serverSettings
	app         appSettings
	web         webSettings
	databaseURL string
}

// register adds the flags: dbUsage is the help of --database-url, and an
// empty defListen means the process serves no HTTP (the worker).
func (r *runFlags) register(fs *flag.FlagSet, getenv func(string) string, defListen, dbUsage string) {
	fs.StringVar(&r.databaseURL, "database-url", getenv("DATABASE_URL"), dbUsage)
	r.server.register(fs, getenv, defListen, &r.errs)
	r.app.register(fs, getenv, &r.errs)
}

// registerHTTP adds the flags of a process that serves HTTP (serve, dev);
// devUsers is the default of --dev-users.
func (r *runFlags) registerHTTP(fs *flag.FlagSet, getenv func(string) string, dbUsage string, devUsers bool) {
	r.register(fs, getenv, "127.0.0.1:8080", dbUsage)
	r.web.registerWith(fs, getenv, &r.errs, devUsers)
}

// parse parses the arguments and checks the settings, recording each wrong
// one in r.errs; missingDB, when not empty, is what is wrong with an empty
// --database-url. It returns the options to run the app with and the
// logger, or the error of parsing the flags.
func (r *runFlags) parse(fs *flag.FlagSet, c cli, missingDB string) (appOptions, *slog.Logger, error) {
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return appOptions{}, nil, err
	}
	if r.databaseURL == "" && missingDB != "" {
		r.errs.add("--database-url / DATABASE_URL: %s", missingDB)
	}
	r.server.check(&r.errs)
	o := appOptions{server: r.server, app: r.app, built: r.app.build(&r.errs), databaseURL: r.databaseURL}
	return o, r.server.log.logger(c.stderr, &r.errs), nil
}

// appOptions say which parts of rolegate one process runs.
type appOptions struct {
	server      serverSettings
	app         appSettings
	built       built
	identity    auth.Identity
	databaseURL string
	http        bool
	worker      bool
	// ready, when set, is called once the server listens, with its URL.
	ready func(url string)
	// listener, when set, is the HTTP listener the caller opened (and
	// closes); otherwise runApp listens on server.listen.
	listener net.Listener
}

// runApp opens the database, applies pending migrations under the
// advisory lock, starts the worker and the HTTP server as asked, and runs
// until ctx ends; then it shuts down in order: stop accepting and finish
// in-flight requests (bounded), stop the worker softly (bounded), close
// the pool.
func runApp(ctx context.Context, logger *slog.Logger, o appOptions) error {
	// Listen first: a taken address stops the process before it migrates
	// the database or starts a worker that would take jobs only to stop.
	ln := o.listener
	if o.http && ln == nil {
		var err error
		if ln, err = listenHTTP(o.server.listen, "--listen / LISTEN_ADDR"); err != nil {
			return err
		}
		defer ln.Close()
	}
	db, err := openAppDB(ctx, logger, o)
	if err != nil {
		return err
	}
	defer db.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), db.Collector())
	var w *worker.Worker
	if o.worker {
		if w, err = startWorker(ctx, logger, db, o, reg); err != nil {
			return err
		}
	}
	stopWorker := func() {
		if w == nil {
			return
		}
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.server.shutdownTimeout)
		defer cancel()
		if err := w.Stop(stopCtx); err != nil {
			logger.Warn("worker did not stop cleanly", "err", err)
		}
		logger.Info("worker stopped")
	}
	if !o.http {
		stopHTTP := func() {}
		if ln != nil { // the worker's own probes and metrics (--listen)
			probes := web.Probes(web.Deps{Logger: logger, Ready: db, Registry: reg, Version: buildVersion(),
				ReadyTimeout: o.server.readyTimeout, MetricsToken: o.server.metricsToken})
			stopHTTP, _ = serveHTTP(ctx, logger, ln, probes, o.server.shutdownTimeout)
			logger.Info("rolegate worker listening", "addr", "http://"+ln.Addr().String())
		}
		logger.Info("rolegate worker running", "concurrency", o.app.concurrency, "version", buildVersion())
		<-ctx.Done()
		logger.Info("shutting down", "timeout", o.server.shutdownTimeout)
		stopHTTP()
		stopWorker()
		logger.Info("stopped")
		return nil
	}

	// Sessions are remembered while a connection of their own hears every
	// change to them, so a page reads no session row; it stops before the
	// pool closes.
	if o.server.rememberSessions {
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() { defer close(watched); db.WatchSessions(watchCtx, logger) }()
		defer func() { stopWatch(); <-watched }()
	} else {
		logger.Info("sessions are read from the database on every page (--remember-sessions=false)")
	}

	// Three parts, mounted here: sign-in (auth), the pages (web) and the
	// JSON API (api). The pages and the API share the cache of checked API
	// tokens, so a token revoked on the settings page stops working at once.
	tokens := api.NewTokenCache(time.Now)
	signin := auth.New(auth.Deps{Identity: o.identity, Logger: logger, Sessions: db,
		Rules: db.Rules, NarrowTokens: db.NarrowTokens, ForgetTokens: tokens.Forget})
	handler := web.New(web.Deps{Logger: logger, Ready: db, Registry: reg, Version: buildVersion(), ReadyTimeout: o.server.readyTimeout,
		RequestTimeout: o.server.requestTimeout,
		Store:          db, Settings: db.Settings(), Auth: signin, MetricsToken: o.server.metricsToken},
		api.Deps{Logger: logger, Store: db, Tokens: tokens,
			Limits: api.Limits{Rate: o.server.apiRate, Burst: o.server.apiBurst}}.Mount)

	stopHTTP, served := serveHTTP(ctx, logger, ln, handler, o.server.shutdownTimeout)
	logger.Info("rolegate listening", "addr", "http://"+ln.Addr().String(), "worker", o.worker, "version", buildVersion())
	if o.ready != nil {
		o.ready("http://" + ln.Addr().String())
	}

	select {
	case err := <-served:
		stopWorker()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", o.server.shutdownTimeout)
	stopHTTP()
	stopWorker()
	logger.Info("stopped")
	return nil
}

// openAppDB opens the database, migrates it to this build's schema and
// checks the configured accounts against what it holds.
func openAppDB(ctx context.Context, logger *slog.Logger, o appOptions) (*store.DB, error) {
	db, err := store.Open(ctx, o.databaseURL, store.Options{
		MaxConns: int32(o.server.maxConns), ConnectTimeout: 5 * time.Second,
		Rules: o.built.rules, Settings: &o.built.settings, Webhooks: o.built.webhooks, Reviews: o.built.reviews, Risks: o.built.risks,
		JobAttempts: o.app.maxAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	applied, err := db.Migrate(ctx, nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	if len(applied) > 0 {
		logger.Info("applied migrations", "versions", applied)
	}
	if err := db.CheckAccounts(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("--accounts-file: %w", err)
	}
	return db, nil
}

// listenHTTP listens on addr, or says which setting (flag and variable)
// to change.
func listenHTTP(addr, setting string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return ln, nil
}

// startWorker builds the IAM clients of every account from the SDK's
// default chain (AWS_REGION, AWS_PROFILE, instance role,
// AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL_STS) and starts the job workers,
// their metrics and the IAM calls' registered on reg.
func startWorker(ctx context.Context, logger *slog.Logger, db *store.DB, o appOptions, reg prometheus.Registerer) (*worker.Worker, error) {
	onCall, err := worker.IAMCallHook(reg)
	if err != nil {
		return nil, err
	}
	recs, err := provision.LoadReconcilers(ctx, o.built.settings, provision.ReconcilersOptions{Client: provision.ClientOptions{RatePerSecond: o.app.iamRate, OnCall: onCall}})
	if err != nil {
		return nil, fmt.Errorf("AWS: %w", err)
	}
	if err := recs.CheckHub(ctx); err != nil {
		return nil, fmt.Errorf("AWS: %w", err)
	}
	w, err := worker.New(db.Pool(), db, worker.Config{
		Settings:            o.built.settings,
		Reconcilers:         recs,
		Logger:              logger.With("component", "worker"),
		Concurrency:         o.app.concurrency,
		MaxAttempts:         o.app.maxAttempts,
		JobTimeout:          o.app.jobTimeout,
		DriftInterval:       o.app.driftInterval,
		RepairDrift:         o.app.repairDrift,
		RemindBefore:        o.app.remindBefore,
		ReviewCheckInterval: reviewCheckEvery(o.built.reviews),
		WebhookURLs:         o.built.webhooks,
		WebhookSecret:       o.app.webhookSecret,
		Registerer:          reg,
	})
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// reviewCheckEvery is how often the worker checks access reviews: every
// minute while they are on, as it checks expiries.
func reviewCheckEvery(p store.ReviewPolicy) time.Duration {
	if !p.On() {
		return 0
	}
	return time.Minute
}
