// Package web is rolegate's HTTP face: the echo router, its middleware
// (request IDs, recovery, logging, metrics, security headers), the HTML
// pages rendered with templ and the health and metrics endpoints. Sign-in
// (web/auth) and the JSON API (web/api) are packages of their own, which
// cmd mounts: the first through Deps.Auth, the second as a Mount.
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

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
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
	// MetricsToken, when set, is the bearer token /metrics asks for;
	// when empty, /metrics answers only clients on this host.
	MetricsToken string
	// ReadyTimeout bounds the database checks of /readyz; default 2s.
	ReadyTimeout time.Duration
	// RequestTimeout is the deadline of every other request, after which
	// its database work stops and it answers 503 with Retry-After;
	// default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Store serves the pages; without it only the health checks, metrics
	// and the start page are routed.
	Store Store
	// Settings are the guardrails the live preview validates against; the
	// same the store validates with.
	Settings provision.Settings
	// Auth knows who browser users are (auth.New); default nobody can
	// sign in.
	Auth *auth.Auth
}

// Mount installs another package's routes (the JSON API's, api.Deps.Mount) on
// the server.
type Mount func(e *echo.Echo)

// New returns the HTTP handler with the middleware, the health checks and
// the pages installed, then the routes of each of mounts: they run after
// the pages and before the method router, which must know every route.
func New(d Deps, mounts ...Mount) *echo.Echo {
	e, d := base(d)
	e.GET("/static/*", handleStatic())
	routes(e, d)
	for _, m := range mounts {
		m(e)
	}
	e.Use(methodRouting(e, e.Routes()))
	return e
}

// Probes returns the handler of a process that serves no pages (`rolegate
// worker --listen`): the same middleware, /healthz, /readyz and /metrics
// as New's, and nothing else.
func Probes(d Deps) *echo.Echo {
	e, _ := base(d)
	e.Use(methodRouting(e, e.Routes()))
	return e
}

// base is the server every handler starts from: d's defaults filled in,
// the middleware every request passes, and the health and metrics
// endpoints.
func base(d Deps) (*echo.Echo, Deps) {
	if d.ReadyTimeout <= 0 {
		d.ReadyTimeout = 2 * time.Second
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = DefaultRequestTimeout
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)

	if d.Auth == nil {
		d.Auth = auth.New(auth.Deps{Logger: d.Logger})
	}
	metrics := newHTTPMetrics(d.Registry)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}),
		sanitizeRequestID,
		metrics.middleware,
		requestLogger(d.Logger),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: logPanic(d.Logger)}),
		secureHeaders(d.Auth),
		// Inside the logger and the recovery, so a request that ran out
		// of time is logged and answered like any other error.
		requestDeadline(d.RequestTimeout),
		// No request needs more than a few hundred KiB (the API refuses
		// over 64 KiB itself): larger bodies are refused before any
		// handler or form parser reads them. Inside the others, so the
		// refusal has a request ID, headers, a log line and a metric.
		middleware.BodyLimit("1M"),
		d.Auth.DevHostGuard,
	)

	e.GET("/healthz", handleHealthz())
	e.GET("/readyz", handleReadyz(d.Ready, d.ReadyTimeout, d.Logger))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})), d.Auth.MetricsGuard(d.MetricsToken))
	return e, d
}

// routes installs the pages. Each route says who may use it: public, any
// signed-in user holding a role, or approvers and admins.
func routes(e *echo.Echo, d Deps) {
	a := d.Auth
	g := e.Group("", a.Identify)
	g.GET("/", handleHome(d.Version))
	g.GET("/signin", handleSignin(a))
	a.Routes(g)
	if d.Store == nil {
		return
	}
	anyone := auth.Allow()
	approvers := auth.Allow(store.RoleApprover, store.RoleAdmin)
	g.GET("/requests", handleMyRequests(d), anyone)
	g.GET("/requests/new", handleNewRequestForm(d), auth.Allow(store.RoleRequester))
	g.POST("/requests/new", handleCreateRequest(d), auth.Allow(store.RoleRequester))
	g.POST("/requests/preview", handlePreview(d), anyone)
	g.GET("/requests/:id", handleRequestDetail(d), anyone)
	g.GET("/requests/:id/terraform", handleTerraformDownload(d), anyone)
	// The store decides who may act on which request (owners, approvers,
	// routed data owners, admins); these routes only require a sign-in.
	g.POST("/requests/:id/decide", handleDecide(d), anyone)
	g.POST("/requests/:id/cancel", handleStep(d, d.Store.Cancel, cancelled), anyone)
	g.POST("/requests/:id/revoke", handleStep(d, d.Store.Revoke, stepDone("Revoking request #%d: its role is being removed.")), anyone)
	g.POST("/requests/:id/retry", handleStep(d, d.Store.Retry, stepDone("Retrying request #%d.")), auth.Allow(store.RoleAdmin))
	g.GET("/requests/:id/change", handleChangeForm(d), anyone)
	g.POST("/requests/:id/change", handleChange(d), anyone)
	// Approvers and admins see the whole queue; data owners (members of
	// a group approval routes name) see what is routed to them.
	g.GET("/dashboard", handleDashboard(d), auth.AllowDeciders(d.Store.Rules))
	g.GET("/roles", handleRoles(d), anyone)
	// Owners answer their roles' access reviews; admins see everyone's and
	// may answer them. The store decides who may answer which.
	g.GET("/reviews", handleReviews(d), anyone)
	g.POST("/reviews/:id/confirm", handleReviewAnswer(d, true), anyone)
	g.POST("/reviews/:id/let-go", handleReviewAnswer(d, false), anyone)
	g.GET("/audit", handleAudit(d), approvers)
	// Everyone manages their own API tokens; admins see and revoke all.
	g.GET("/settings/tokens", handleTokens(d), anyone)
	g.POST("/settings/tokens", handleCreateToken(d), anyone)
	g.POST("/settings/tokens/:id/revoke", handleRevokeToken(d), anyone)
	// Everyone sees and ends their own signed-in sessions; admins anyone's.
	g.GET("/settings/sessions", handleSessions(d), anyone)
	g.POST("/settings/sessions/end", handleEndSessions(d), anyone)
	// The API's reference is a page: it knows who is signed in, for the
	// header. The API itself is mounted by the caller (api.Deps.Mount).
	g.GET("/api/docs", handleAPIReference(api.OpenAPI()))
}

// handleHealthz answers as long as the process serves HTTP; it checks no
// dependency, so an orchestrator restarts only a wedged process.
func handleHealthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

// handleReadyz answers 200 only when the database answers within the
// timeout and holds the schema this binary knows. A 503 is logged as a
// warning with the error (the health checks' request lines are debug
// lines): the orchestrator that takes the instance out of service shows
// only the status.
func handleReadyz(r Readiness, timeout time.Duration, logger *slog.Logger) echo.HandlerFunc {
	notReady := func(c echo.Context, reason string, err error) error {
		logger.Warn("not ready: "+reason, "err", err, "request_id", problem.RequestID(c))
		c.Response().Header().Set("Retry-After", "5")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
	}
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		if err := r.Ping(ctx); err != nil {
			return notReady(c, "database unreachable", err)
		}
		if err := r.SchemaCurrent(ctx); err != nil {
			return notReady(c, "database schema is not the one this version serves", err)
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}
