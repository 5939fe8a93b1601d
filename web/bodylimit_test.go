package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A body over the limit is refused like any other request: with a
// request ID, the security headers, a log line and a metric. The limit
// ran before every other middleware, so a 413 answered by its
// Content-Length was never logged nor counted, had no X-Request-ID to
// quote, and no Cache-Control or CSP.
func TestOversizedBodyIsLoggedCountedAndIdentified(t *testing.T) {
	t.Parallel()
	logs := newLogRecorder()
	h := New(Deps{Logger: slog.New(logs), Registry: prometheus.NewRegistry(), Version: "test"})

	for _, path := range []string{"/signout", "/api/v1/requests"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(strings.Repeat("a", 2<<20)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST %s with 2 MiB: %d, want 413", path, w.Code)
		}
		id := w.Header().Get("X-Request-ID")
		if id == "" {
			t.Errorf("POST %s: the 413 has no X-Request-ID", path)
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("POST %s: the 413 lacks the security headers: %v", path, w.Header())
		}
		logs.await(t, func(records []map[string]string) bool {
			for _, rec := range records {
				if rec["msg"] == "http request" && rec["status"] == "413" && rec["request_id"] == id && id != "" {
					return true
				}
			}
			return false
		})
	}
	body := getMetrics(h, "127.0.0.1:40000", nil).Body.String()
	if !strings.Contains(body, `status="413"`) {
		t.Errorf("no series counts the 413s:\n%.3000s", body)
	}
}
