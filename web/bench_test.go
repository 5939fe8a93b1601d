package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// BenchmarkDashboard renders dashboard pages over 100,000 stored requests:
// the pending queue, a deep page reached by its cursor, and the filters.
//
//	go test -run '^$' -bench Dashboard -benchtime 200x ./web/
func BenchmarkDashboard(b *testing.B) {
	f := uiSetup(b, uiProxyIdentity())
	seed := `
	BEGIN;
	SET CONSTRAINTS ALL DEFERRED;
	INSERT INTO requests (id, account, role_name, requester, status, version, created_at, updated_at)
	OVERRIDING SYSTEM VALUE
	SELECT g, 'default', 'bench-role-' || g, 'user' || (g % 997),
	       (ARRAY['pending','pending','pending','rejected','cancelled'])[1 + g % 5], 1,
	       now() - (100001 - g) * interval '1 minute', now() - (100001 - g) * interval '1 minute'
	FROM generate_series(1, 100000) g;
	INSERT INTO request_versions (request_id, version, description, justification, created_by, created_at, search_doc)
	SELECT g, 1, 'benchmark role', 'needed by batch job number ' || g, 'user' || (g % 997), now() - (100001 - g) * interval '1 minute',
	       request_search_doc('default', 'bench-role-' || g, 'user' || (g % 997), 'needed by batch job number ' || g,
	                          ARRAY['bucket-' || (g % 300), 'bucket-' || ((g + 1) % 300)], ARRAY['data/0/', 'data/1/'])
	FROM generate_series(1, 100000) g;
	INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
	SELECT g, 1, p, 'bucket-' || ((g + p) % 300), 'data/' || p || '/', (ARRAY['read','write','read-write'])[1 + (g + p) % 3]
	FROM generate_series(1, 100000) g, generate_series(0, 1) p;
	SELECT setval(pg_get_serial_sequence('requests', 'id'), 100000);
	COMMIT;
	ANALYZE;`
	if _, err := f.db.Pool().Exec(uiCtx(b), seed); err != nil {
		b.Fatal(err)
	}
	bob := f.client("bob", approverGroups)
	first := bob.get("/dashboard")
	if first.status != 200 || strings.Count(first.body, `class="queue-item"`) != pageSize {
		b.Fatalf("first page = %d with %d rows", first.status, strings.Count(first.body, `class="queue-item"`))
	}
	deep := "/dashboard?status=pending&cursor=" + cursorAt(b, bob, 40)
	for _, bc := range []struct{ name, path string }{
		{"pending-first-page", "/dashboard"},
		{"pending-deep-page", deep},
		{"all-statuses", "/dashboard?status=all"},
		{"by-bucket", "/dashboard?status=pending&bucket=bucket-42"},
		{"by-requester", "/dashboard?status=all&requester=user7"},
		{"free-text", "/dashboard?status=all&q=job+number+4242"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r := bob.get(bc.path)
				if r.status != http.StatusOK {
					b.Fatalf("%s = %d", bc.path, r.status)
				}
			}
		})
	}
}

var nextRe = regexp.MustCompile(`cursor=([A-Za-z0-9_-]+)[^"]*" rel="next"`)

// cursorAt follows the queue's next links to page n and returns its cursor:
// paging is keyset, so any depth costs what page n does.
func cursorAt(b *testing.B, c *uiClient, n int) string {
	b.Helper()
	cursor := ""
	for range n {
		r := c.get("/dashboard?status=pending&cursor=" + cursor)
		m := nextRe.FindStringSubmatch(r.body)
		if m == nil {
			b.Fatal("paging ended early")
		}
		cursor = m[1]
	}
	return cursor
}
