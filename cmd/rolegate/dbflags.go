package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/rolegate/rolegate/store"
)

// dbFlag is the --database-url flag of the one-shot commands (migrate,
// audit, token, drift, export-terraform), which need a database and no
// server.
type dbFlag struct{ url string }

func (d *dbFlag) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&d.url, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL (required) [DATABASE_URL]")
}

// check records a missing URL among the start-up errors.
func (d *dbFlag) check(errs *settingErrors) {
	if d.url == "" {
		errs.add("--database-url / DATABASE_URL: not set")
	}
}

// open connects with a small pool (opts.MaxConns defaults to 2) and fails
// fast; the error names the database, never the password.
func (d *dbFlag) open(ctx context.Context, opts store.Options) (*store.DB, error) {
	if opts.MaxConns == 0 {
		opts.MaxConns = 2
	}
	opts.ConnectTimeout = 5 * time.Second
	db, err := store.Open(ctx, d.url, opts)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}
