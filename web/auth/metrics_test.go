package auth

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestMetricsGuard(t *testing.T) {
	t.Parallel()
	serve := func(id Identity, token string) *echo.Echo {
		e := echo.New()
		e.GET("/metrics", func(c echo.Context) error { return c.String(http.StatusOK, "metrics") },
			New(Deps{Identity: id}).MetricsGuard(token))
		return e
	}
	direct := serve(Identity{DevUsers: true}, "")
	loopProxy := serve(proxyIdentity(), "")
	remoteProxy := Identity{Proxy: &ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, SessionKey: testKey}
	remote := serve(remoteProxy, "")
	withToken := serve(Identity{DevUsers: true}, "s3cret")
	for _, tc := range []struct {
		name    string
		e       *echo.Echo
		peer    string
		headers map[string]string
		want    int
	}{
		{"loopback v4", direct, "127.0.0.1:4000", nil, http.StatusOK},
		{"loopback v6", direct, "[::1]:4000", nil, http.StatusOK},
		{"loopback mapped", direct, "[::ffff:127.0.0.1]:4000", nil, http.StatusOK},
		{"remote", direct, "192.0.2.1:4000", nil, http.StatusForbidden},
		{"loopback forwarding for someone", direct, "127.0.0.1:4000", map[string]string{"X-Forwarded-For": "192.0.2.1"}, http.StatusForbidden},
		{"loopback via", direct, "127.0.0.1:4000", map[string]string{"Via": "1.1 proxy"}, http.StatusForbidden},
		{"loopback Forwarded", direct, "127.0.0.1:4000", map[string]string{"Forwarded": "for=192.0.2.1"}, http.StatusForbidden},
		{"trusted proxy on loopback", loopProxy, "127.0.0.1:4000", nil, http.StatusForbidden},
		{"trusted proxy elsewhere, loopback client", remote, "127.0.0.1:4000", nil, http.StatusOK},
		{"remote header spoofing loopback", direct, "192.0.2.1:4000", map[string]string{"X-Real-Ip": "127.0.0.1"}, http.StatusForbidden},
		{"token right", withToken, "192.0.2.1:4000", map[string]string{"Authorization": "Bearer s3cret"}, http.StatusOK},
		{"token scheme in any case", withToken, "192.0.2.1:4000", map[string]string{"Authorization": "bearer s3cret"}, http.StatusOK},
		{"token wrong", withToken, "192.0.2.1:4000", map[string]string{"Authorization": "Bearer s3cre"}, http.StatusUnauthorized},
		{"token other scheme", withToken, "192.0.2.1:4000", map[string]string{"Authorization": "Basic s3cret"}, http.StatusUnauthorized},
		{"token missing", withToken, "192.0.2.1:4000", nil, http.StatusUnauthorized},
		{"token missing on loopback", withToken, "127.0.0.1:4000", nil, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := peerRequest("/metrics", tc.peer, tc.headers)
			w := httptest.NewRecorder()
			tc.e.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("GET /metrics = %d %s, want %d", w.Code, w.Body, tc.want)
			}
			if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}
