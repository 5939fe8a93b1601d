package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// workerHTTPSettings are the settings of `rolegate worker`'s own HTTP
// listener: probes and metrics only, and none unless an address is given,
// so a worker without it opens no port.
type workerHTTPSettings struct {
	listen       string
	readyTimeout time.Duration
	metricsToken string
}

func (s *workerHTTPSettings) register(fs *flag.FlagSet, getenv func(string) string, errs *settingErrors) {
	fs.StringVar(&s.listen, "listen", getenv("WORKER_LISTEN"),
		"address to serve /healthz, /readyz and /metrics on, e.g. :9090; empty serves nothing [WORKER_LISTEN]")
	fs.DurationVar(&s.readyTimeout, "ready-timeout", envDuration(getenv, "READY_TIMEOUT", 2*time.Second, errs),
		"how long /readyz waits for the database before answering 503 [READY_TIMEOUT]")
	fs.StringVar(&s.metricsToken, "metrics-token", getenv("METRICS_TOKEN"),
		"bearer token /metrics asks for; without one, /metrics answers this host only; prefer the environment variable [METRICS_TOKEN]")
}

func (s *workerHTTPSettings) check(errs *settingErrors) {
	if s.listen == "" {
		return
	}
	checkAddr("--listen / WORKER_LISTEN", s.listen, errs)
	checkReadyTimeout(s.readyTimeout, errs)
	checkMetricsToken(s.metricsToken, errs)
}

// open opens the worker's listener, or returns nil when it has none.
func (s *workerHTTPSettings) open() (net.Listener, error) {
	if s.listen == "" {
		return nil, nil
	}
	return listenHTTP(s.listen, "--listen / WORKER_LISTEN")
}

// serveHTTP serves h on ln until the returned function is called, which
// shuts the server down, letting requests in flight finish within
// timeout; served has the server's error should it stop by itself first.
func serveHTTP(ctx context.Context, logger *slog.Logger, ln net.Listener, h http.Handler, timeout time.Duration) (shutdown func(), served <-chan error) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			logger.Warn("in-flight requests did not finish in time", "err", err)
			srv.Close()
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("http server stopped with an error", "err", err)
		}
	}, done
}

// checkMetricsToken refuses a --metrics-token too short to keep a guesser
// out.
func checkMetricsToken(token string, errs *settingErrors) {
	if token != "" && len(token) < 16 {
		errs.add("--metrics-token / METRICS_TOKEN: use at least 16 random characters (it is %d)", len(token))
	}
}

// maxReadyTimeout bounds --ready-timeout: a probe that waits longer for
// the database than its own timeout (seconds, in every orchestrator)
// answers nobody.
const maxReadyTimeout = time.Minute

// checkReadyTimeout refuses a --ready-timeout that is not positive or is
// over maxReadyTimeout.
func checkReadyTimeout(d time.Duration, errs *settingErrors) {
	if d <= 0 || d > maxReadyTimeout {
		errs.add("--ready-timeout / READY_TIMEOUT: %s is not a positive duration of at most %s", d, maxReadyTimeout)
	}
}
