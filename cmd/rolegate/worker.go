package main

import (
	"context"
)

// cmdWorker runs only the job worker, for scaling out: several workers (and
// `serve --no-worker` processes) share one database and queue safely.
func cmdWorker(ctx context.Context, c cli) error {
	var r runFlags
	fs := newFlagSet("worker", "worker [flags]", c.stderr)
	r.register(fs, c.getenv, "", "PostgreSQL URL (required) [DATABASE_URL]")
	o, logger, err := r.parse(fs, c, "not set; point it at the database `rolegate serve` uses (workers share its job queue)")
	if err != nil {
		return err
	}
	if err := r.errs.err(fs); err != nil {
		return err
	}
	o.worker = true
	return runApp(ctx, logger, o)
}
