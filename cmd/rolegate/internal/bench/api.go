package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// benchAPI measures request creation through the API of a real server
// (`rolegate serve` from Settings.Server, a separate process on loopback) at each
// concurrency, against the same rows written directly with pgx at the same
// concurrency and the way the store writes them (one statement into
// requests, request_versions, request_scopes and audit_events): what the
// database itself does per second on this machine.
func benchAPI(ctx context.Context, e *env) ([]tableRow, error) {
	db, dbURL, err := e.newStore(ctx, "api", store.Options{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	_, secret, err := db.CreateToken(ctx, store.NewToken{User: "bench-requester", Description: "rolegate bench", CreatedBy: "cli"})
	if err != nil {
		return nil, err
	}
	// The server runs with the pool it has in production unless asked
	// otherwise: more connections than cores only add contention.
	conns := e.settings.ServerConns
	if conns <= 0 {
		conns = slices.Max(e.settings.APIConcurrency)
	}
	srv, err := startServer(ctx, e, dbURL, conns)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	client := srv.client(slices.Max(e.settings.APIConcurrency))

	var rows []tableRow
	n := e.settings.APIRequests
	for _, conc := range e.settings.APIConcurrency {
		// The direct side gets the database concurrency the server has:
		// as many connections as callers, up to the server's pool.
		pool, err := benchPool(ctx, dbURL, min(conc, conns))
		if err != nil {
			return rows, err
		}
		direct := func(ctx context.Context, i int) error {
			return directCreate(ctx, pool, fmt.Sprintf("bench-direct-c%d-%06d", conc, i))
		}
		api := func(ctx context.Context, i int) error {
			return apiCreate(ctx, client, srv.base, secret, fmt.Sprintf("bench-api-c%d-%06d", conc, i))
		}
		// Warm each up at this concurrency (connections open, plans
		// cached), uncounted, under names of their own, right before its
		// own timed run: the direct pool's 64 backends closing slowed the
		// first 64 API calls after them to 0.3–0.6 s, which a pause of
		// 2.5 s instead of them did not.
		warm := max(2*conc, 20)
		if _, err := drive(ctx, warm, conc, func(ctx context.Context, i int) error {
			return directCreate(ctx, pool, fmt.Sprintf("bench-warm-direct-c%d-%06d", conc, i))
		}); err != nil {
			pool.Close()
			return rows, fmt.Errorf("direct warm-up: %w", err)
		}
		d, err := drive(ctx, n, conc, direct)
		pool.Close()
		if err != nil {
			return rows, fmt.Errorf("direct pgx at concurrency %d: %w", conc, err)
		}
		if _, err := drive(ctx, warm, conc, func(ctx context.Context, i int) error {
			return apiCreate(ctx, client, srv.base, secret, fmt.Sprintf("bench-warm-api-c%d-%06d", conc, i))
		}); err != nil {
			return rows, fmt.Errorf("API warm-up: %w", err)
		}
		cpu0, _ := pidCPU(srv.cmd.Process.Pid)
		a, err := drive(ctx, n, conc, api)
		if err != nil {
			return rows, fmt.Errorf("API at concurrency %d: %w", conc, err)
		}
		cpu1, _ := pidCPU(srv.cmd.Process.Pid)
		e.logf("api: concurrency %d: API %s; direct %s", conc, a, d)
		ratio := a.rate() / d.rate()
		row := tableRow{
			section:  "api",
			name:     fmt.Sprintf("create %d requests, concurrency %d", n, conc),
			measured: fmt.Sprintf("%.0f req/s (p50 %s, p99 %s)", a.rate(), fmtMS(a.p50), fmtMS(a.p99)),
			baseline: fmt.Sprintf("%.0f tx/s direct pgx (p50 %s, p99 %s)", d.rate(), fmtMS(d.p50), fmtMS(d.p99)),
			ratio:    ratio,
			target:   "≥ 0.6× direct",
			ok:       ratio >= 0.6,
			note: fmt.Sprintf("server process CPU %.2f ms per request",
				float64(cpu1-cpu0)/float64(time.Millisecond)/float64(n)),
		}
		e.logf("api: concurrency %d: %s", conc, row.note)
		rows = append(rows, row)
		if conc == 64 {
			tail := a.p99.Seconds() / a.p50.Seconds()
			rows = append(rows, tableRow{
				section:  "api",
				name:     "API p99 ÷ p50 at concurrency 64",
				measured: fmt.Sprintf("%s ÷ %s", fmtMS(a.p99), fmtMS(a.p50)),
				baseline: fmt.Sprintf("direct: %.2f×", d.p99.Seconds()/d.p50.Seconds()),
				ratio:    tail,
				target:   "≤ 3×",
				ok:       tail <= 3,
			})
		}
	}
	rows = append(rows, srv.memoryRow("api"))
	return rows, nil
}

func benchPool(ctx context.Context, dbURL string, conns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(conns)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// directCreate writes the rows CreateRequest writes for a one-scope
// read-only request the way it writes them: one statement, committing on
// its own.
func directCreate(ctx context.Context, pool *pgxpool.Pool, name string) error {
	now := time.Now().UTC()
	_, err := pool.Exec(ctx, `
		WITH r AS (
			INSERT INTO requests (account, role_name, requester, status, version, created_at, updated_at)
			VALUES ('default', $1, 'bench-requester', 'pending', 1, $2, $2)
			RETURNING id),
		v AS (
			INSERT INTO request_versions (request_id, version, description, justification, managed_policies, created_by, created_at, search_doc)
			SELECT r.id, 1, '', 'rolegate bench', '{}', 'bench-requester', $2,
				request_search_doc('default', $1, 'bench-requester', 'rolegate bench', '{bench-bucket}', '{team-1/}') FROM r),
		s AS (
			INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
			SELECT r.id, 1, 0, 'bench-bucket', 'team-1/', 'read' FROM r)
		INSERT INTO audit_events (request_id, version, actor, kind, data, created_at)
		SELECT r.id, 1, 'bench-requester', 'request.submitted', $3, $2 FROM r`,
		name, now, map[string]any{"role_name": name, "buckets": 1})
	return err
}

// apiCreate creates one request through POST /api/v1/requests and reads
// the whole answer.
func apiCreate(ctx context.Context, client *http.Client, base, token, name string) error {
	body, err := json.Marshal(map[string]any{
		"name":          name,
		"buckets":       []provision.BucketScope{{Bucket: "bench-bucket", Prefix: "team-1/", Access: provision.AccessRead}},
		"justification": "rolegate bench",
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/requests", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return exchange(client, req, http.StatusCreated, "POST /api/v1/requests")
}
