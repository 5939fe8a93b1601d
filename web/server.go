// Package web is rolegate's HTTP face: the echo router, its middleware
// (request IDs, recovery, logging, metrics, security headers), the HTML
// pages rendered with templ and the health and metrics endpoints.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness is what /readyz asks of the database: that it answers and
// holds the schema this binary knows.
type Readiness interface {
	Ping(ctx context.Context) error
	SchemaCurrent(ctx context.Context) error
}

// Deps is everything the handlers need, built once in main.
type Deps struct {
	Logger   *slog.Logger
	Ready    Readiness
	Registry *prometheus.Registry
	Version  string
	// ReadyTimeout bounds the database checks of /readyz; default 2s.
	ReadyTimeout time.Duration
}

// New returns the HTTP handler with every route and middleware installed.
func New(d Deps) *echo.Echo {
	if d.ReadyTimeout <= 0 {
		d.ReadyTimeout = 2 * time.Second
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)

	metrics := newHTTPMetrics(d.Registry)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}),
		sanitizeRequestID,
		metrics.middleware,
		requestLogger(d.Logger),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: logPanic(d.Logger)}),
		secureHeaders,
	)

	e.GET("/healthz", handleHealthz())
	e.GET("/readyz", handleReadyz(d.Ready, d.ReadyTimeout))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	e.GET("/static/*", handleStatic())
	e.GET("/", handleHome(d.Version))
	return e
}

// handleHealthz answers as long as the process serves HTTP; it checks no
// dependency, so an orchestrator restarts only a wedged process.
func handleHealthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

// handleReadyz answers 200 only when the database answers within the
// timeout and holds the schema this binary knows.
func handleReadyz(r Readiness, timeout time.Duration) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		if err := r.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
		}
		if err := r.SchemaCurrent(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database schema is not the one this version serves"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}
