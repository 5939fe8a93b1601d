package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/store/pglocal"
	"github.com/rolegate/rolegate/web"
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
		app         appSettings
		webs        webSettings
		databaseURL string
		dataDir     string
	)
	fs := newFlagSet("dev", "dev [flags]", c.stderr)
	fs.StringVar(&databaseURL, "database-url", c.getenv("DATABASE_URL"),
		"PostgreSQL URL; when empty a private cluster is started in the data directory [DATABASE_URL]")
	fs.StringVar(&dataDir, "data-dir", envString(c.getenv, "ROLEGATE_DATA_DIR", defaultDataDir(c.getenv)),
		"where dev keeps its PostgreSQL cluster and local state between runs [ROLEGATE_DATA_DIR]")
	srv.register(fs, c.getenv, "127.0.0.1:8080", &errs)
	app.register(fs, c.getenv, &errs)
	webs.registerDev(fs, c.getenv, &errs)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	srv.check(&errs)
	b := app.build(&errs)
	var identity web.Identity
	if dataDir == "" {
		errs.add("--data-dir / ROLEGATE_DATA_DIR: empty")
	} else {
		identity = webs.identity(dataDir, &errs)
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
			return noBinariesError()
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
	if c.getenv("AWS_ENDPOINT_URL_IAM") == "" {
		stop, err := startLocalIAM(ctx, logger, dataDir)
		if err != nil {
			return err
		}
		defer stop()
	} else {
		logger.Info("using the IAM endpoint from AWS_ENDPOINT_URL_IAM", "endpoint", c.getenv("AWS_ENDPOINT_URL_IAM"))
	}
	return runApp(ctx, logger, appOptions{server: srv, app: app, built: b, identity: identity,
		databaseURL: databaseURL, http: true, worker: true})
}

// noBinariesError is what dev says when it cannot start PostgreSQL itself:
// one line with the three ways forward.
func noBinariesError() error {
	return errors.New("no PostgreSQL server binaries found (initdb, pg_ctl, postgres on PATH or under /usr/lib/postgresql/*/bin): " +
		"install PostgreSQL (e.g. `apt install postgresql`), or run `docker compose up`, or set DATABASE_URL")
}

// startLocalIAM serves the local IAM endpoint in-process, its state kept in
// the data directory, and points the AWS SDK at it through the standard
// AWS_ENDPOINT_URL_IAM (with local credentials when none are set), so the
// worker provisions into it exactly as it would into AWS.
func startLocalIAM(ctx context.Context, logger *slog.Logger, dataDir string) (func(), error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("--data-dir / ROLEGATE_DATA_DIR: %w", err)
	}
	srv, err := iamlocal.New(iamlocal.Options{StatePath: filepath.Join(dataDir, "iam-local.json"), Logger: logger.With("component", "iam-local")})
	if err != nil {
		return nil, fmt.Errorf("local IAM endpoint: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local IAM endpoint: %w", err)
	}
	endpoint := "http://" + ln.Addr().String()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_IAM": endpoint, "AWS_ENDPOINT_URL_STS": endpoint} {
		os.Setenv(k, v)
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		os.Setenv("AWS_ACCESS_KEY_ID", "local")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	}
	if os.Getenv("AWS_REGION") == "" {
		os.Setenv("AWS_REGION", "us-east-1")
	}
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	logger.Info("local IAM endpoint serving", "endpoint", endpoint, "state", filepath.Join(dataDir, "iam-local.json"))
	return func() {
		cancel()
		if err := <-done; err != nil {
			logger.Warn("local IAM endpoint stopped with an error", "err", err)
		}
	}, nil
}
