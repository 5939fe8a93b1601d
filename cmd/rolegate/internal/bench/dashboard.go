package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"time"

	"github.com/rolegate/rolegate/store"
)

// dashboardPageSize is the page size of the approver dashboard (web's
// pageSize); the bare SQL baseline asks for the same.
const dashboardPageSize = 50

// dashboardSeed stores %[1]d requests with SQL alone: statuses mixed
// (three in five pending), 997 requesters, two scopes each over 300
// buckets, one a minute up to now. It is the seed of web's
// BenchmarkDashboard.
const dashboardSeed = `
	BEGIN;
	SET CONSTRAINTS ALL DEFERRED;
	INSERT INTO requests (id, role_name, requester, status, version, created_at, updated_at)
	OVERRIDING SYSTEM VALUE
	SELECT g, 'bench-role-' || g, 'user' || (g %% 997),
	       (ARRAY['pending','pending','pending','rejected','cancelled'])[1 + g %% 5], 1,
	       now() - (%[1]d + 1 - g) * interval '1 minute', now() - (%[1]d + 1 - g) * interval '1 minute'
	FROM generate_series(1, %[1]d) g;
	INSERT INTO request_versions (request_id, version, description, justification, created_by, created_at)
	SELECT g, 1, 'benchmark role', 'needed by batch job number ' || g, 'user' || (g %% 997), now() - (%[1]d + 1 - g) * interval '1 minute'
	FROM generate_series(1, %[1]d) g;
	INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
	SELECT g, 1, p, 'bucket-' || ((g + p) %% 300), 'data/' || p || '/', (ARRAY['read','write','read-write'])[1 + (g + p) %% 3]
	FROM generate_series(1, %[1]d) g, generate_series(0, 1) p;
	SELECT setval(pg_get_serial_sequence('requests', 'id'), %[1]d);
	COMMIT;
	ANALYZE;`

// benchDashboard seeds the stored requests, then times approver dashboard
// pages fetched over HTTP from a real server against the store calls the
// page is made of (ListRequests and CountByStatus) run alone.
func benchDashboard(ctx context.Context, e *env) ([]tableRow, error) {
	n := e.settings.DashboardRows
	db, dbURL, err := e.newStore(ctx, "dashboard", store.Options{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	seeded := time.Now()
	if _, err := db.Pool().Exec(ctx, fmt.Sprintf(dashboardSeed, n)); err != nil {
		return nil, fmt.Errorf("seed %d requests: %w", n, err)
	}
	e.logf("dashboard: %d requests seeded in %s", n, time.Since(seeded).Round(time.Millisecond))

	// The deep page: 40 pages into the pending queue, reached by keyset
	// cursors as the dashboard's next links do.
	pending := store.ListFilter{Status: store.StatusPending, Limit: dashboardPageSize, OldestFirst: true}
	deep := pending
	for range 40 {
		page, err := db.ListRequests(ctx, deep)
		if err != nil {
			return nil, err
		}
		if page.Next == "" {
			return nil, fmt.Errorf("the pending queue of %d requests has fewer than 40 pages", n)
		}
		deep.Cursor = page.Next
	}
	byBucket := pending
	byBucket.Bucket = "bucket-42"

	srv, err := startServer(ctx, e, dbURL, 0)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	client := srv.client(1)
	// A browser keeps its session cookie: one session, then one session
	// read per page, as for a person at the dashboard.
	client.Jar, err = cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	pages := []struct {
		name   string
		path   string
		filter store.ListFilter
	}{
		{"pending queue, first page", "/dashboard", pending},
		{"pending queue, page 41 (keyset cursor)", "/dashboard?status=pending&cursor=" + url.QueryEscape(deep.Cursor), deep},
		{"pending, bucket filter", "/dashboard?status=pending&bucket=bucket-42", byBucket},
	}
	iters := e.settings.DashboardPages
	var rows []tableRow
	for _, p := range pages {
		get := func(ctx context.Context, _ int) error { return dashboardGet(ctx, client, srv.base+p.path) }
		bare := func(ctx context.Context, _ int) error {
			page, err := db.ListRequests(ctx, p.filter)
			if err != nil {
				return err
			}
			if len(page.Requests) == 0 {
				return fmt.Errorf("%s: no requests", p.name)
			}
			_, err = db.CountByStatus(ctx)
			return err
		}
		for _, warm := range []func(context.Context, int) error{get, bare} {
			if _, err := drive(ctx, 5, 1, warm); err != nil {
				return rows, fmt.Errorf("%s: %w", p.name, err)
			}
		}
		// Alternate the two so a busy moment of the machine hits both.
		var h, s []time.Duration
		for i := range iters {
			for _, m := range []struct {
				op  func(context.Context, int) error
				out *[]time.Duration
			}{{get, &h}, {bare, &s}} {
				t := time.Now()
				if err := m.op(ctx, i); err != nil {
					return rows, fmt.Errorf("%s: %w", p.name, err)
				}
				*m.out = append(*m.out, time.Since(t))
			}
		}
		slices.Sort(h)
		slices.Sort(s)
		hp, sp := percentile(h, 50), percentile(s, 50)
		ratio := hp.Seconds() / sp.Seconds()
		e.logf("dashboard: %s: HTTP p50 %s p99 %s; bare SQL p50 %s p99 %s", p.name, fmtMS(hp), fmtMS(percentile(h, 99)), fmtMS(sp), fmtMS(percentile(s, 99)))
		rows = append(rows, tableRow{
			section:  "dashboard",
			name:     fmt.Sprintf("%s, %d requests", p.name, n),
			measured: fmt.Sprintf("%s/page over HTTP (p50 of %d)", fmtMS(hp), iters),
			baseline: fmt.Sprintf("%s ListRequests + CountByStatus", fmtMS(sp)),
			ratio:    ratio,
			target:   "≤ 2× bare SQL",
			ok:       ratio <= 2,
		})
	}
	rows = append(rows, srv.memoryRow("dashboard"))
	return rows, nil
}

// dashboardGet fetches one dashboard page as a signed-in approver (the
// proxy headers the server trusts from loopback) and reads it whole.
func dashboardGet(ctx context.Context, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Forwarded-User", "bench-approver")
	req.Header.Set("X-Forwarded-Groups", approverGroup)
	return exchange(client, req, http.StatusOK, "GET "+u)
}
