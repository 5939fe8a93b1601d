package auth

import "net/http"

// MetricsHandler guards next, a /metrics handler served by plain
// net/http (the worker's own listener, which has no sign-in and trusts no
// proxy), by MetricsGuard's rule: with a token, a scraper must send it as
// a bearer token (401 otherwise); without one, only clients on this host
// that name no forwarded client may read it (403 otherwise).
func MetricsHandler(token string, next http.Handler) http.Handler {
	refuse := metricsRule(token, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := refuse(r); status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", metricsChallenge)
			}
			http.Error(w, msg, status)
			return
		}
		next.ServeHTTP(w, r)
	})
}
