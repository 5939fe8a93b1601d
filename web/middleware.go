package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
)

func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sanitizeRequestID replaces a caller-supplied X-Request-ID that is not a
// short printable token, so request IDs are always safe to log and echo.
func sanitizeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		id := res.Header().Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
			res.Header().Set(echo.HeaderXRequestID, id)
		}
		c.Set("request_id", id)
		return next(c)
	}
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// requestLogger writes one line per request: method, route, status,
// duration, request ID and the user it acted for, if any. Query strings,
// cookies and headers are left out: they can carry tokens. A request the
// database refused in words people are not shown (problem.RefusalOf) is
// logged as a warning with what the database said and the constraint: a
// race, or a rule of the schema the store does not check before writing.
// A 5xx is an error, but for an honest 503 (with Retry-After): a warning.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // resolve the status now, so the line below is true
			}
			status := c.Response().Status
			level := slog.LevelInfo
			switch {
			case status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") != "":
				// An honest 503 (the database away, or a request out of
				// time): a warning, as the error handler's own line.
				level = slog.LevelWarn
			case status >= 500:
				level = slog.LevelError
			}
			if c.Path() == "/healthz" || c.Path() == "/readyz" || c.Path() == "/metrics" {
				level = slog.LevelDebug
			}
			attrs := []slog.Attr{
				slog.String("method", methodLabel(c.Request().Method)),
				slog.String("route", problem.Route(c)),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", problem.RequestID(c)),
			}
			if user := userOf(c); user != "" {
				attrs = append(attrs, slog.String("user", user))
			}
			if r, ok := problem.RefusalOf(c); ok {
				level = max(level, slog.LevelWarn)
				attrs = append(attrs, slog.String("db_refusal", r.Message), slog.String("constraint", r.Constraint))
			}
			logger.LogAttrs(c.Request().Context(), level, "http request", attrs...)
			return nil
		}
	}
}

// userOf is who the request acted for: the signed-in browser user, or
// the user of the API token it authenticated with; empty for nobody.
func userOf(c echo.Context) string {
	if a, ok := auth.ActorOf(c); ok {
		return a.Name
	}
	return api.Caller(c)
}

func logPanic(logger *slog.Logger) middleware.LogErrorFunc {
	return func(c echo.Context, err error, stack []byte) error {
		logger.Error("panic in handler", "err", err, "route", problem.Route(c), "request_id", problem.RequestID(c), "stack", string(stack))
		return fmt.Errorf("panic: %w", err)
	}
}

// secureHeaders sets the headers every response carries: no inline
// scripts, no framing, no MIME sniffing, no referrer leaks; and, on
// answers to requests known to be HTTPS (a.KnownHTTPS), HSTS, so the
// browser never again asks over plain HTTP. Never on plain HTTP: browsers
// ignore it there, and a developer on localhost must not be locked out.
func secureHeaders(a *auth.Auth) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			// Pages and API answers speak for the signed-in user: no cache
			// (a shared browser's, a proxy's) keeps them past sign-out. Static
			// assets, the OpenAPI document and the ETag'd Terraform set their own.
			h.Set("Cache-Control", "no-store")
			if a.KnownHTTPS(c.Request()) {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}

// methodLabel is how metrics and logs name a request's method: HTTP's
// own methods by name, any other "other". A client may send any token as
// its method, as long as a line; each kept as a label value of its own
// would be a histogram series held for the life of the process.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

type httpMetrics struct {
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rolegate_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route template, method and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.duration)
	return m
}

func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		m.duration.WithLabelValues(problem.Route(c), methodLabel(c.Request().Method), strconv.Itoa(c.Response().Status)).
			Observe(time.Since(start).Seconds())
		return nil
	}
}
