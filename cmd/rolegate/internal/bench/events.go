package bench

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rolegate/rolegate/store"
)

// eventsSeed stores %[1]d audit events with SQL alone: one a second up to
// now, 997 actors, four kinds, about no request (the audit log and the
// events API page through all of them alike). They are left unsealed: the
// bench's server runs no worker.
const eventsSeed = `
	INSERT INTO audit_events (actor, kind, data, created_at)
	SELECT 'user' || (g %% 997),
	       (ARRAY['request.submitted', 'decision.approved', 'provision.step', 'drift.detected'])[1 + g %% 4],
	       jsonb_build_object('role_name', 'bench-role-' || g),
	       now() - (%[1]d + 1 - g) * interval '1 second'
	FROM generate_series(1, %[1]d) g;`

// Page sizes of the audit log page (web's auditPageSize) and of the
// events API (its default).
const (
	auditPageSize     = 100
	eventsAPIPageSize = 100
)

// benchEvents seeds --event-rows audit events (or finds them seeded), then
// times the audit log page and GET /api/v1/events, first pages and deep
// keyset pages, over HTTP from a real server against the ListEvents call
// each is made of run alone.
func benchEvents(ctx context.Context, e *env) ([]tableRow, error) {
	n := e.settings.EventRows
	db, dbURL, err := e.seededStore(ctx, fmt.Sprintf("events-v1-%d", n), []string{"audit_events"}, fmt.Sprintf(eventsSeed, n))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var lastID int64
	if err := db.Pool().QueryRow(ctx, `SELECT max(id) FROM audit_events`).Scan(&lastID); err != nil {
		return nil, err
	}
	// An approver's token: the whole trail is for approvers and admins.
	_, secret, err := db.CreateToken(ctx, store.NewToken{User: "bench-auditor", Roles: []store.Role{store.RoleApprover},
		Description: "rolegate bench", CreatedBy: "cli"})
	if err != nil {
		return nil, err
	}
	srv, client, err := startBrowsedServer(ctx, e, dbURL)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	mid := lastID / 2
	audit := store.EventFilter{Limit: auditPageSize, NewestFirst: true}
	auditDeep, auditActor := audit, audit
	auditDeep.BeforeID, auditActor.Actor = mid, "user42"
	api := store.EventFilter{Limit: eventsAPIPageSize}
	apiDeep, apiActor := api, api
	apiDeep.AfterID, apiActor.Actor = mid, "user42"
	midS := strconv.FormatInt(mid, 10)
	pages := []struct {
		name, path string
		bearer     bool
		filter     store.EventFilter
	}{
		{"audit log, first page", "/audit", false, audit},
		{"audit log, middle page (keyset)", "/audit?before=" + midS, false, auditDeep},
		{"audit log, by actor", "/audit?actor=user42", false, auditActor},
		{"GET /api/v1/events, first page", "/api/v1/events", true, api},
		{"GET /api/v1/events, middle page (keyset)", "/api/v1/events?after=" + midS, true, apiDeep},
		{"GET /api/v1/events, by actor", "/api/v1/events?actor=user42", true, apiActor},
	}
	var rows []tableRow
	for _, p := range pages {
		get := func(ctx context.Context, _ int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.base+p.path, nil)
			if err != nil {
				return err
			}
			if p.bearer {
				req.Header.Set("Authorization", "Bearer "+secret)
			} else {
				req.Header.Set("X-Forwarded-User", "bench-approver")
				req.Header.Set("X-Forwarded-Groups", approverGroup)
			}
			return exchange(client, req, http.StatusOK, "GET "+p.path)
		}
		bare := func(ctx context.Context, _ int) error {
			events, err := db.ListEvents(ctx, p.filter)
			if err == nil && len(events) == 0 {
				err = fmt.Errorf("%s: no events", p.name)
			}
			return err
		}
		// The page's session, like the API's token, is read once and
		// then remembered by the server (its watcher hears sign-outs), so
		// ListEvents is all the SQL either makes per page.
		times, err := alternate(ctx, e.settings.DashboardPages, get, bare)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", p.name, err)
		}
		rows = append(rows, pageRow(e, "events", fmt.Sprintf("%s, %d events", p.name, n), "ListEvents", times[0], times[1], false))
	}
	rows = append(rows, srv.memoryRow(fmt.Sprintf("events (%d events)", n)))
	return rows, nil
}
