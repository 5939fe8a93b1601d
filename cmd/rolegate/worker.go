package main

import (
	"context"
)

// cmdWorker runs only the job worker, for scaling out: several workers (and
// `serve --no-worker` processes) share one database and queue safely.
// With --listen it serves /healthz, /readyz and /metrics on that address.
func cmdWorker(ctx context.Context, c cli) error {
	var (
		r  runFlags
		wh workerHTTPSettings
	)
	fs := newFlagSet("worker", "worker [flags]", c.stderr)
	r.register(fs, c.getenv, "", "PostgreSQL URL (required) [DATABASE_URL]")
	wh.register(fs, c.getenv, &r.errs)
	o, logger, err := r.parse(fs, c, "not set; point it at the database `rolegate serve` uses (workers share its job queue)")
	if err != nil {
		return err
	}
	wh.check(&r.errs)
	if err := r.errs.err(fs); err != nil {
		return err
	}
	o.worker = true
	// Listen first, as serve does: a taken address stops the worker
	// before it migrates the database or takes a job.
	if o.listener, err = wh.open(); err != nil {
		return err
	}
	if o.listener != nil {
		defer o.listener.Close()
	}
	o.server.readyTimeout, o.server.metricsToken = wh.readyTimeout, wh.metricsToken
	return runApp(ctx, logger, o)
}
