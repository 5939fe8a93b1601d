package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// BenchmarkAuditPage renders the audit log's first page (100 events) over
// 10,000 stored events, against ListEvents for the same page alone: the
// ratio of the two is the page's cost over its SQL.
//
//	go test -run '^$' -bench AuditPage -benchtime 500x ./web/
func BenchmarkAuditPage(b *testing.B) {
	// Its sessions remembered, as serve's are.
	f := uiServe(b, watchingDB(b, storetest.URL(b)), uiProxyIdentity())
	if _, err := f.db.Pool().Exec(uiCtx(b), `
	INSERT INTO audit_events (actor, kind, data, created_at)
	SELECT 'user' || (g % 997),
	       (ARRAY['request.submitted', 'decision.approved', 'provision.step', 'drift.detected'])[1 + g % 4],
	       jsonb_build_object('role_name', 'bench-role-' || g),
	       now() - (10001 - g) * interval '1 second'
	FROM generate_series(1, 10000) g;
	ANALYZE audit_events;`); err != nil {
		b.Fatal(err)
	}
	bob := f.client("bob", approverGroups)
	if r := bob.get("/audit"); r.status != http.StatusOK || strings.Count(r.body, "<tr") < auditPageSize {
		b.Fatalf("/audit = %d with %d rows", r.status, strings.Count(r.body, "<tr"))
	}
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			if r := bob.get("/audit"); r.status != http.StatusOK {
				b.Fatalf("/audit = %d", r.status)
			}
		}
	})
	b.Run("list-events", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.db.ListEvents(uiCtx(b), store.EventFilter{Limit: auditPageSize, NewestFirst: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
