package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// MetricsGuard protects /metrics, which tells anyone who reads it the
// routes, request rates and pool sizes of the service. With a token, a
// scraper must send it as a bearer token; without one, only clients on
// this host may read it: the TCP peer is a loopback address and the
// request names no forwarded client (a reverse proxy or sidecar on the
// same host connects from loopback on behalf of anyone).
//
// When the trusted proxies include a loopback address, every request
// reaches rolegate from this host, so without a token /metrics answers
// nobody.
func (a *Auth) MetricsGuard(token string) echo.MiddlewareFunc {
	refuse := metricsRule(token, a.id.proxyOnLoopback())
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if status, msg := refuse(c.Request()); status != 0 {
				if status == http.StatusUnauthorized {
					c.Response().Header().Set("WWW-Authenticate", metricsChallenge)
				}
				return echo.NewHTTPError(status, msg)
			}
			return next(c)
		}
	}
}

const metricsChallenge = `Bearer realm="rolegate metrics"`

// metricsRule is MetricsGuard's rule: it returns the status and message
// refusing a request, or 0 when the request may read the metrics.
func metricsRule(token string, proxyOnLoopback bool) func(*http.Request) (int, string) {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) (int, string) {
		if token == "" {
			if peer, ok := peerAddr(r); ok && peer.IsLoopback() && !proxyOnLoopback && !forwarded(r.Header) {
				return 0, ""
			}
			return http.StatusForbidden, "Metrics are served to this host only; set a metrics token to scrape them from elsewhere."
		}
		got, ok := BearerToken(r.Header)
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return http.StatusUnauthorized, "Send the metrics token as a bearer token."
		}
		return 0, ""
	}
}

// forwarded reports whether a proxy says it passes the request on for
// another client.
func forwarded(h http.Header) bool {
	for _, name := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto", "Via"} {
		if h.Get(name) != "" {
			return true
		}
	}
	return false
}

// BearerToken is the token of an `Authorization: Bearer <token>` header
// (the scheme in any case); ok is false without a non-empty one.
func BearerToken(h http.Header) (token string, ok bool) {
	scheme, token, ok := strings.Cut(h.Get(echo.HeaderAuthorization), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}
