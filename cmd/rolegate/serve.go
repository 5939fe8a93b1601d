package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web"
)

// serverSettings are the settings of the HTTP server, shared by serve and dev.
type serverSettings struct {
	listen          string
	shutdownTimeout time.Duration
	maxConns        int
	readyTimeout    time.Duration
	log             logSettings
}

func (s *serverSettings) register(fs *flag.FlagSet, getenv func(string) string, defListen string, errs *settingErrors) {
	fs.StringVar(&s.listen, "listen", envString(getenv, "LISTEN_ADDR", defListen), "address to serve HTTP on [LISTEN_ADDR]")
	fs.DurationVar(&s.shutdownTimeout, "shutdown-timeout", envDuration(getenv, "SHUTDOWN_TIMEOUT", 15*time.Second, errs),
		"how long in-flight requests may finish after SIGINT/SIGTERM [SHUTDOWN_TIMEOUT]")
	fs.DurationVar(&s.readyTimeout, "ready-timeout", envDuration(getenv, "READY_TIMEOUT", 2*time.Second, errs),
		"how long /readyz waits for the database before answering 503 [READY_TIMEOUT]")
	fs.IntVar(&s.maxConns, "db-max-conns", envInt(getenv, "DB_MAX_CONNS", 10, errs), "database connection pool size [DB_MAX_CONNS]")
	s.log.register(fs, getenv)
}

func (s *serverSettings) check(errs *settingErrors) {
	checkListen(s.listen, errs)
	if s.maxConns < 1 || s.maxConns > 1000 {
		errs.add("--db-max-conns / DB_MAX_CONNS: %d is not from 1 to 1000", s.maxConns)
	}
}

func cmdServe(ctx context.Context, c cli) error {
	var (
		errs        settingErrors
		srv         serverSettings
		databaseURL string
	)
	fs := newFlagSet("serve", "serve [flags]", c.stderr)
	fs.StringVar(&databaseURL, "database-url", c.getenv("DATABASE_URL"), "PostgreSQL URL, e.g. postgres://rolegate@db:5432/rolegate (required) [DATABASE_URL]")
	srv.register(fs, c.getenv, "127.0.0.1:8080", &errs)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	if databaseURL == "" {
		errs.add("--database-url / DATABASE_URL: not set; point it at PostgreSQL (or use `rolegate dev` for a local one)")
	}
	srv.check(&errs)
	logger := srv.log.logger(c.stderr, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	return serveApp(ctx, logger, srv, databaseURL)
}

// serveApp opens the database, applies pending migrations under the
// advisory lock, and serves HTTP until ctx ends; then it shuts down in
// order: stop accepting and finish in-flight requests (bounded), then close
// the pool.
func serveApp(ctx context.Context, logger *slog.Logger, s serverSettings, databaseURL string) error {
	db, err := store.Open(ctx, databaseURL, store.Options{MaxConns: int32(s.maxConns), ConnectTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx, nil)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if len(applied) > 0 {
		logger.Info("applied migrations", "versions", applied)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), db.Collector())
	handler := web.New(web.Deps{Logger: logger, Ready: db, Registry: reg, Version: buildVersion(), ReadyTimeout: s.readyTimeout})

	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return fmt.Errorf("--listen / LISTEN_ADDR: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	logger.Info("rolegate listening", "addr", "http://"+ln.Addr().String(), "version", buildVersion())

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", s.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("in-flight requests did not finish in time", "err", err)
		httpSrv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("http server stopped with an error", "err", err)
	}
	logger.Info("stopped")
	return nil
}
