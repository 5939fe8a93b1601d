package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/web/auth"
)

func metricsServer(t *testing.T, token string) http.Handler {
	t.Helper()
	return New(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Version: "test",
		MetricsToken: token})
}

// getFrom serves GET path to a client at remote sending header.
func getFrom(h http.Handler, path, remote string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = remote
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func getMetrics(h http.Handler, remote string, header map[string]string) *httptest.ResponseRecorder {
	return getFrom(h, "/metrics", remote, header)
}

func TestMetricsWithoutTokenAnswerThisHostOnly(t *testing.T) {
	t.Parallel()
	h := metricsServer(t, "")
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	for _, c := range []struct {
		remote string
		header map[string]string
		want   int
	}{
		{"127.0.0.1:40000", nil, http.StatusOK},
		{"[::1]:40000", nil, http.StatusOK},
		{"[::ffff:127.0.0.1]:40000", nil, http.StatusOK},
		{"203.0.113.7:40000", nil, http.StatusForbidden},
		{"10.0.0.8:40000", nil, http.StatusForbidden},
		// A forwarded header does not make a remote client local ...
		{"203.0.113.7:40000", map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}, http.StatusForbidden},
		// ... and a proxy on this host passing on someone else's request
		// is not a local client.
		{"127.0.0.1:40000", map[string]string{"X-Forwarded-For": "203.0.113.7"}, http.StatusForbidden},
		{"[::1]:40000", map[string]string{"Forwarded": "for=203.0.113.7"}, http.StatusForbidden},
		{"127.0.0.6:40000", map[string]string{"X-Forwarded-Proto": "https"}, http.StatusForbidden},
		{"127.0.0.1:40000", map[string]string{"Via": "1.1 proxy"}, http.StatusForbidden},
	} {
		w := getMetrics(h, c.remote, c.header)
		if w.Code != c.want {
			t.Errorf("from %s %v: %d, want %d\n%s", c.remote, c.header, w.Code, c.want, w.Body)
		}
		if c.want == http.StatusOK && !strings.Contains(w.Body.String(), "rolegate_http_request_duration_seconds") {
			t.Errorf("from %s: no rolegate metrics:\n%.300s", c.remote, w.Body)
		}
		if c.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "metrics token") {
			t.Errorf("from %s: the refusal does not say how to scrape: %s", c.remote, w.Body)
		}
	}
}

func TestMetricsTokenIsRequiredFromEverywhere(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef-metrics"
	h := metricsServer(t, token)
	for _, c := range []struct {
		name, remote, auth string
		want               int
	}{
		{"none, even from this host", "127.0.0.1:40000", "", http.StatusUnauthorized},
		{"wrong", "203.0.113.7:40000", "Bearer 0123456789abcdef-metricz", http.StatusUnauthorized},
		{"not bearer", "203.0.113.7:40000", token, http.StatusUnauthorized},
		{"right, remote", "203.0.113.7:40000", "Bearer " + token, http.StatusOK},
		{"right, scheme in lower case", "203.0.113.7:40000", "bearer " + token, http.StatusOK},
		{"right, local", "127.0.0.1:40000", "Bearer " + token, http.StatusOK},
	} {
		w := getMetrics(h, c.remote, map[string]string{"Authorization": c.auth})
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, w.Code, c.want, w.Body)
		}
		if c.want == http.StatusUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, w.Header().Get("WWW-Authenticate"))
		}
	}
}

// Behind a trusted proxy on this host every request comes from loopback:
// without a token, /metrics answers nobody.
func TestMetricsBehindALoopbackProxyNeedTheToken(t *testing.T) {
	t.Parallel()
	h := New(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Version: "test", Auth: auth.New(auth.Deps{Identity: uiProxyIdentity()})})
	if w := getMetrics(h, "127.0.0.1:40000", nil); w.Code != http.StatusForbidden {
		t.Fatalf("loopback, proxy trusted on loopback, no token: %d, want 403", w.Code)
	}
	const token = "0123456789abcdef-metrics"
	h = New(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Version: "test", MetricsToken: token, Auth: auth.New(auth.Deps{Identity: uiProxyIdentity()})})
	if w := getMetrics(h, "127.0.0.1:40000", map[string]string{"Authorization": "Bearer " + token}); w.Code != http.StatusOK {
		t.Fatalf("with the token: %d, want 200", w.Code)
	}
}

// TestMetricsMethodLabelIsBounded: HTTP lets a client name any method, as
// long as a line. Each one the duration histogram kept as its own label
// value would add a series of a dozen buckets holding that name, for as
// long as the process runs: a few thousand requests without a sign-in
// would fill memory and every scrape. Methods other than HTTP's own are
// counted together as "other", and the log line says the same.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	reg := prometheus.NewRegistry()
	h := New(Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registry: reg, Version: "test"})
	long := "X" + strings.Repeat("A", 10_000)
	for _, m := range []string{"EVIL1", "EVIL2", long, http.MethodGet, http.MethodDelete} {
		r := httptest.NewRequest(m, "/healthz", nil)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	body := getMetrics(h, "127.0.0.1:40000", nil).Body.String()
	for _, bad := range []string{"EVIL1", "EVIL2", "XAAAA"} {
		if strings.Contains(body, bad) {
			t.Errorf("the metrics name the method %.10s…", bad)
		}
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the log names the method %.10s…", bad)
		}
	}
	for _, want := range []string{`method="other"`, `method="GET"`, `method="DELETE"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no series with %s:\n%.2000s", want, body)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "rolegate_http_request_duration_seconds" && len(f.GetMetric()) > 4 {
			t.Errorf("%d series after GET and DELETE, three other methods and a scrape; want 4", len(f.GetMetric()))
		}
	}
}
