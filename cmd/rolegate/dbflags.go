package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/rolegate/rolegate/store"
)

// dbFlag is the --database-url flag of the one-shot commands (migrate,
// audit, token, drift, export-terraform), which need a database and no
// server. With no URL they use the private cluster of a `rolegate dev`
// running with the same data directory on this machine.
type dbFlag struct {
	url, dataDir string
	dev          bool // url is the dev cluster's
}

func (d *dbFlag) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&d.url, "database-url", getenv("DATABASE_URL"),
		"PostgreSQL `URL`; when empty, the private cluster of a running `rolegate dev` with the same data directory [DATABASE_URL]")
	fs.StringVar(&d.dataDir, "data-dir", envString(getenv, "ROLEGATE_DATA_DIR", defaultDataDir(getenv)),
		"the data `directory` of `rolegate dev`, whose cluster is used when no database URL is given [ROLEGATE_DATA_DIR]")
}

// check finds the dev cluster when no URL is set, and records among the
// start-up errors that neither is there.
func (d *dbFlag) check(errs *settingErrors) {
	if d.url != "" {
		return
	}
	if u, ok := devClusterURL(d.dataDir); ok {
		d.url, d.dev = u, true
		return
	}
	// No private cluster answers: a dev there runs on a DATABASE_URL of
	// its own (which it does not record: it may hold a password), or is
	// still starting it.
	switch pid, url, ok := runningDev(d.dataDir); {
	case ok && url != "":
		errs.add("--database-url / DATABASE_URL: not set, and the `rolegate dev` running with data directory %s (pid %d, serving %s) "+
			"has no private cluster that answers, so it runs on a DATABASE_URL of its own: set the same DATABASE_URL here", d.dataDir, pid, url)
		return
	case ok:
		errs.add("--database-url / DATABASE_URL: not set, and the `rolegate dev` (pid %d) with data directory %s is still starting: "+
			"run this again once it says it is ready, or set DATABASE_URL", pid, d.dataDir)
		return
	}
	errs.add("--database-url / DATABASE_URL: not set, and no `rolegate dev` is running with data directory %s "+
		"(--data-dir / ROLEGATE_DATA_DIR): start `rolegate dev` (or `make run`) first, or set DATABASE_URL", d.dataDir)
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

// openCurrent is check and open for a command with no other settings: it
// connects and refuses a schema this binary does not know, saying to
// migrate.
func (d *dbFlag) openCurrent(ctx context.Context) (*store.DB, error) {
	var errs settingErrors
	d.check(&errs)
	if err := errs.err(nil); err != nil {
		return nil, err
	}
	db, err := d.open(ctx, store.Options{})
	if err != nil {
		return nil, err
	}
	if err := db.SchemaCurrent(ctx); err != nil {
		db.Close()
		return nil, schemaError(err)
	}
	return db, nil
}

// schemaError is the error of a one-shot command whose database does not
// hold the schema this binary knows, with what to do: migrate when
// migrations are pending, and use a newer rolegate when a newer one
// migrated the database (migrate up refuses that schema too).
func schemaError(err error) error {
	if errors.Is(err, store.ErrSchemaUnknown) {
		return fmt.Errorf("database: %w (use a rolegate as new as the database)", err)
	}
	return fmt.Errorf("database: %w (run `rolegate migrate up`)", err)
}
