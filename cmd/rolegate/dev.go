package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rolegate/rolegate/store/pglocal"
)

// defaultDataDir is where `rolegate dev` keeps its state between runs: the
// user's data directory, or /var/lib/rolegate for root (whose home the
// postgres system user, which runs the server for root, cannot enter).
func defaultDataDir(getenv func(string) string) string {
	if os.Geteuid() == 0 {
		return "/var/lib/rolegate"
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "rolegate")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "rolegate")
	}
	return filepath.Join(os.TempDir(), "rolegate")
}

func cmdDev(ctx context.Context, c cli) error {
	var (
		errs        settingErrors
		srv         serverSettings
		databaseURL string
		dataDir     string
	)
	fs := newFlagSet("dev", "dev [flags]", c.stderr)
	fs.StringVar(&databaseURL, "database-url", c.getenv("DATABASE_URL"),
		"PostgreSQL URL; when empty a private cluster is started in the data directory [DATABASE_URL]")
	fs.StringVar(&dataDir, "data-dir", envString(c.getenv, "ROLEGATE_DATA_DIR", defaultDataDir(c.getenv)),
		"where dev keeps its PostgreSQL cluster and local state between runs [ROLEGATE_DATA_DIR]")
	srv.register(fs, c.getenv, "127.0.0.1:8080", &errs)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	srv.check(&errs)
	if dataDir == "" {
		errs.add("--data-dir / ROLEGATE_DATA_DIR: empty")
	}
	logger := srv.log.logger(c.stderr, &errs)
	if err := errs.err(); err != nil {
		return err
	}

	if databaseURL == "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return fmt.Errorf("--data-dir / ROLEGATE_DATA_DIR: %w", err)
		}
		cluster, err := pglocal.Start(ctx, pglocal.Options{Dir: filepath.Join(dataDir, "postgres"), Logger: logger})
		if errors.Is(err, pglocal.ErrNoBinaries) {
			return errors.New("no PostgreSQL server binaries found (initdb, pg_ctl, postgres on PATH or under /usr/lib/postgresql/*/bin): " +
				"install PostgreSQL (e.g. `apt install postgresql`), or run `docker compose up`, or set DATABASE_URL")
		}
		if err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
		defer func() {
			if err := cluster.Stop(ctx); err != nil {
				logger.Error("stopping private PostgreSQL failed", "err", err)
			} else {
				logger.Info("private PostgreSQL stopped")
			}
		}()
		if err := cluster.EnsureDatabase(ctx, "rolegate"); err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
		databaseURL = cluster.URL("rolegate")
	}
	return serveApp(ctx, logger, srv, databaseURL)
}
