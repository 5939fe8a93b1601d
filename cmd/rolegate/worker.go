package main

import (
	"context"
)

// cmdWorker runs only the job worker, for scaling out: several workers (and
// `serve --no-worker` processes) share one database and queue safely.
func cmdWorker(ctx context.Context, c cli) error {
	var (
		errs        settingErrors
		srv         serverSettings
		app         appSettings
		databaseURL string
	)
	fs := newFlagSet("worker", "worker [flags]", c.stderr)
	fs.StringVar(&databaseURL, "database-url", c.getenv("DATABASE_URL"), "PostgreSQL URL (required) [DATABASE_URL]")
	srv.register(fs, c.getenv, "", &errs)
	app.register(fs, c.getenv, &errs)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	if databaseURL == "" {
		errs.add("--database-url / DATABASE_URL: not set")
	}
	srv.check(&errs)
	b := app.build(&errs)
	logger := srv.log.logger(c.stderr, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	return runApp(ctx, logger, appOptions{server: srv, app: app, built: b, databaseURL: databaseURL, worker: true})
}
