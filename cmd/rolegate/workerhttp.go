package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rolegate/rolegate/web"
	"github.com/rolegate/rolegate/web/auth"
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
	if s.metricsToken != "" && len(s.metricsToken) < 16 {
		errs.add("--metrics-token / METRICS_TOKEN: use at least 16 random characters (it is %d)", len(s.metricsToken))
	}
}

// open opens the worker's listener, or returns nil when it has none.
func (s *workerHTTPSettings) open() (net.Listener, error) {
	if s.listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen / WORKER_LISTEN: %w", err)
	}
	return ln, nil
}

// workerMux serves the worker's probes and metrics: /healthz answers while
// the process runs and checks nothing; /readyz asks the database, as
// serve's does; /metrics is guarded by serve's rule (auth.MetricsHandler).
func workerMux(logger *slog.Logger, ready web.Readiness, reg prometheus.Gatherer, o appOptions) http.Handler {
	answer := func(w http.ResponseWriter, status int, body map[string]string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if err := json.NewEncoder(w).Encode(body); err != nil {
			logger.Debug("probe answer not written", "err", err)
		}
	}
	notReady := func(w http.ResponseWriter, reason string, err error) {
		logger.Warn("not ready: "+reason, "err", err)
		w.Header().Set("Retry-After", "5")
		answer(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), o.server.readyTimeout)
		defer cancel()
		if err := ready.Ping(ctx); err != nil {
			notReady(w, "database unreachable", err)
			return
		}
		if err := ready.SchemaCurrent(ctx); err != nil {
			notReady(w, "database schema is not the one this version serves", err)
			return
		}
		answer(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", auth.MetricsHandler(o.server.metricsToken, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return mux
}

// serveWorkerHTTP serves h on ln until the returned function is called,
// which shuts the server down, letting requests in flight finish within
// the shutdown timeout.
func serveWorkerHTTP(ctx context.Context, logger *slog.Logger, ln net.Listener, h http.Handler, timeout time.Duration) (shutdown func()) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("rolegate worker listening", "addr", "http://"+ln.Addr().String())
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			logger.Warn("probe and metrics requests did not finish in time", "err", err)
			srv.Close()
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("worker's http server stopped with an error", "err", err)
		}
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
