package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/store"
)

// readiness answers /readyz as told.
type readiness struct{ ping, schema error }

func (r readiness) Ping(context.Context) error          { return r.ping }
func (r readiness) SchemaCurrent(context.Context) error { return r.schema }

// A /readyz that answers 503 says why in the log, as a warning: the
// request line of the health checks is a debug line, so an instance an
// orchestrator took out of service for an unreachable database or a
// schema it does not know left no trace of it at the default level.
func TestNotReadyIsLoggedWithItsReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		ready  readiness
		reason string
	}{
		{"database down", readiness{ping: errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")}, "connection refused"},
		{"schema unknown", readiness{schema: store.ErrSchemaUnknown}, store.ErrSchemaUnknown.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := newLogRecorder()
			h := New(Deps{Logger: slog.New(logs), Ready: tc.ready, Registry: prometheus.NewRegistry(), Version: "test"})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("/readyz = %d, want 503", w.Code)
			}
			logs.await(t, func(records []map[string]string) bool {
				for _, r := range records {
					if r["level"] == "WARN" && strings.Contains(r["err"], tc.reason) && r["request_id"] != "" {
						return true
					}
				}
				return false
			})
		})
	}
	// Ready: nothing but the debug line.
	logs := newLogRecorder()
	h := New(Deps{Logger: slog.New(logs), Ready: readiness{}, Registry: prometheus.NewRegistry(), Version: "test"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/readyz = %d, want 200", w.Code)
	}
	for _, r := range logs.await(t, func(records []map[string]string) bool { return len(records) > 0 }) {
		if r["level"] != "DEBUG" && r["msg"] != "no sign-in configured: the pages ask for OIDC or trusted proxy settings" {
			t.Errorf("a ready answer logged %v", r)
		}
	}
}
