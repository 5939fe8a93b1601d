package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/problem"
)

// wantExpiryRefused fails the test unless r is a 422 at expires_at whose
// message says the bound.
func wantExpiryRefused(t *testing.T, r resp) {
	t.Helper()
	wantStatus(t, r, http.StatusUnprocessableEntity)
	p := r.problem(t)
	if p.Type != problem.Base+"validation-failed" || len(p.Errors) != 1 || p.Errors[0].Field != "expires_at" ||
		!strings.Contains(p.Errors[0].Message, "at most 10 years ahead") {
		t.Fatalf("problem %+v, want one at expires_at saying the bound", p)
	}
}

// An expiry is at most ten years ahead wherever one is given: in a new
// request, a preview, a change and an approval. The year 10000 in UTC
// (valid RFC 3339 with an offset) was accepted once, and then every JSON
// answer holding the request failed.
func TestAPIExpiryAtMostTenYearsAhead(t *testing.T) {
	env := setupAPI(t)
	for _, at := range []string{"9999-12-31T23:59:59-23:00", "2400-01-01T00:00:00Z",
		time.Now().UTC().AddDate(10, 0, 1).Format(time.RFC3339)} {
		body := spec("far-reader")
		body["expires_at"] = at
		wantExpiryRefused(t, env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body}))
		wantExpiryRefused(t, env.do(req{method: "POST", path: "/api/v1/preview", as: asAlice, body: body}))
	}
	listed := env.do(req{method: "GET", path: "/api/v1/requests", as: asBob})
	wantStatus(t, listed, http.StatusOK)

	id := env.create(asAlice, "open-reader")
	env.activate(id)
	body := spec("open-reader")
	body["expires_at"] = "2400-01-01T00:00:00Z"
	wantExpiryRefused(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", id), as: asAlice, body: body}))

	// An approver may give a request that asked for no expiry one, within
	// the same bound.
	id = env.create(asAlice, "endless-reader")
	wantExpiryRefused(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob,
		body: map[string]any{"expires_at": "2400-01-01T00:00:00Z"}}))
	ok := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob,
		body: map[string]any{"expires_at": time.Now().UTC().AddDate(9, 0, 0).Format(time.RFC3339)}})
	wantStatus(t, ok, http.StatusOK)
}

// A database written before the bound may hold an expiry past the year
// 9999: the schema's migration caps it, and every answer that holds the
// request, lists included, is still written.
func TestAPIAnswersWithAnExpiryStoredPastTheYear9999(t *testing.T) {
	env := setupAPI(t)
	ctx := ctxT(t)
	pending := env.create(asAlice, "far-pending")
	active := env.create(asAlice, "far-active")
	env.activate(active)
	// Undo migration 16, which caps such expiries, and every later one.
	for {
		var v int64
		if err := env.db.Pool().QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v < 16 {
			break
		}
		if err := env.db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const far = "10000-01-01T22:59:59Z" // 9999-12-31T23:59:59-23:00 in UTC
	if _, err := env.db.Pool().Exec(ctx, `UPDATE request_versions SET expires_at = $1 WHERE request_id IN ($2, $3)`, far, pending, active); err != nil {
		t.Fatal(err)
	}
	if _, err := env.db.Pool().Exec(ctx, `UPDATE requests SET expires_at = $1 WHERE id = $2`, far, active); err != nil {
		t.Fatal(err)
	}
	if _, err := env.db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}

	for _, as := range []string{asBob, asCarol, asAlice} {
		wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests", as: as}), http.StatusOK)
	}
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/roles", as: asErin}), http.StatusOK)
	r := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", active), as: asAlice})
	wantStatus(t, r, http.StatusOK)
	v := r.detail(t)
	capped := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	if v.ExpiresAt == nil || !v.ExpiresAt.Equal(capped) || v.Spec.ExpiresAt == nil || !v.Spec.ExpiresAt.Equal(capped) {
		t.Fatalf("expires at %v (spec %v), want %v", v.ExpiresAt, v.Spec.ExpiresAt, capped)
	}
	var detail api.RequestDetail
	g := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", pending), as: asBob})
	wantStatus(t, g, http.StatusOK)
	if g.json(t, &detail); detail.Spec.ExpiresAt == nil || !detail.Spec.ExpiresAt.Equal(capped) {
		t.Fatalf("pending request's spec expires at %v, want %v", detail.Spec.ExpiresAt, capped)
	}
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", pending), as: asBob, body: map[string]any{}}), http.StatusOK)
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/revoke", active), as: asAlice, body: map[string]any{}}), http.StatusOK)
}

// The form's date is held to the same bound, at its field.
func TestFormExpiryAtMostTenYearsAhead(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	alice.get("/requests/new")
	form := url.Values{"name": {"far-reader"}, "justification": {"reports"}, "bucket": {"team-reports"},
		"prefix": {"daily/"}, "access": {"read"}, "expires": {"2400-01-01"}}
	r := alice.post("/requests/new", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("%d, want 422\n%s", r.status, pageExcerpt(r.body))
	}
	pageHas(t, r, `id="f-expires-error"`, "expiry must be at most 10 years ahead", `value="2400-01-01"`)
}
