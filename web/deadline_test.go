package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/problem"
)

// shortTimeout is the request deadline of the servers that meet a row lock.
const shortTimeout = 300 * time.Millisecond

// timeoutSays is what people are told of a request that ran out of time.
const timeoutSays = "The database took too long to answer; try again in a few seconds."

// lockRequestRow holds request id's row as a decision would (SELECT ...
// FOR UPDATE) in a transaction of its own, until the returned release.
func lockRequestRow(t *testing.T, db *store.DB, id int64) (release func()) {
	t.Helper()
	ctx := uiCtx(t)
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM requests WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			if err := tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(release)
	return release
}

// serveWithTimeout serves the pages and the API of db behind the test
// proxy with request deadline timeout, logging into the returned recorder.
func serveWithTimeout(t *testing.T, db *store.DB, timeout time.Duration) (*httptest.Server, logRecorder) {
	t.Helper()
	logs := newLogRecorder()
	d := testDeps(db)
	d.Logger, d.RequestTimeout = slog.New(logs), timeout
	srv := httptest.NewServer(newServer(d, uiProxyIdentity(), db, api.Limits{}))
	t.Cleanup(srv.Close)
	return srv, logs
}

// awaitTimeoutWarning waits for the warning of the request requestID that
// ran out of time on route, and fails if that server logged any error: a
// request out of time is an honest 503, not a failure of ours.
func awaitTimeoutWarning(t *testing.T, logs logRecorder, route, requestID string) {
	t.Helper()
	records := logs.await(t, func(records []map[string]string) bool {
		for _, r := range records {
			if r["level"] == "WARN" && r["msg"] == "request failed: timed out" && r["route"] == route && r["request_id"] == requestID {
				return true
			}
		}
		return false
	})
	for _, r := range records {
		if r["level"] == "ERROR" {
			t.Errorf("a request out of time was logged as an error: %v", r)
		}
	}
}

// wantUndecided fails unless request id is still pending at its version
// with no decision and no decision event: the timed-out decision left
// nothing behind.
func wantUndecided(t *testing.T, db *store.DB, id int64, version int) {
	t.Helper()
	ctx := uiCtx(t)
	r, err := db.GetRequest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusPending || r.Version != version || len(r.Decisions) != 0 {
		t.Fatalf("after the timed-out decision: %s v%d, decisions %+v", r.Status, r.Version, r.Decisions)
	}
	events, err := db.ListEvents(ctx, store.EventFilter{RequestID: id, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if strings.HasPrefix(e.Kind, "decision.") {
			t.Fatalf("the timed-out decision left an event: %+v", e)
		}
	}
}

// A decision that waits on a row lock another transaction holds (an
// approver's decision in flight, a long job) answered nothing until the
// lock went: the browser spun and the request held a pooled connection
// all the while. Now, at the request timeout, it answers 503 with
// Retry-After and says so in words, a warning in the log; nothing of it is
// written, and once the lock is gone the same form goes through.
func TestDecisionBehindRowLockTimesOut(t *testing.T) {
	f := uiProxyTest(t)
	r := uiCreate(t, f.db, uiNewReq("behind-a-lock", "alice"))
	short, logs := serveWithTimeout(t, f.db, shortTimeout)
	bob := f.client("bob", approverGroups)
	page := fmt.Sprintf("/requests/%d", r.ID)
	pageHas(t, bob.get(page), "Approve")
	form := url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {"fine"}}

	release := lockRequestRow(t, f.db, r.ID)
	// The same browser, at the instance with the short deadline; it gives
	// up itself after a while, so a server that waits for the lock fails
	// the test rather than hangs it.
	impatient := *bob
	impatient.f = &uiFixture{t: t, db: f.db, srv: short, ctx: f.ctx}
	impatient.hc = &http.Client{Jar: bob.hc.Jar, CheckRedirect: bob.hc.CheckRedirect, Timeout: 20 * time.Second}
	got := impatient.post(page+"/decide", form)
	if got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") != "5" {
		t.Fatalf("decision behind a row lock: %d, Retry-After %q, want 503 and 5\n%s", got.status, got.header.Get("Retry-After"), pageExcerpt(got.body))
	}
	pageHas(t, got, timeoutSays, got.header.Get(echo.HeaderXRequestID))
	awaitTimeoutWarning(t, logs, "/requests/:id/decide", got.header.Get(echo.HeaderXRequestID))

	release()
	wantUndecided(t, f.db, r.ID, 1)
	pageHas(t, bob.follow(page+"/decide", form), "flash-ok")
	if after, err := f.db.GetRequest(f.ctx, r.ID); err != nil || after.DecisionOf("bob") == nil {
		t.Fatalf("the retried decision: %+v, %v", after.Decisions, err)
	}
}

// The API's decision behind a row lock answers the same: 503, problem type
// timeout, Retry-After, as the OpenAPI document says; the retry goes
// through.
func TestAPIDecisionBehindRowLockTimesOut(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "api-behind-a-lock")
	patient := env.srv
	short, logs := serveWithTimeout(t, env.db, shortTimeout)
	approve := func() resp {
		return env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob, body: map[string]any{"comment": "fine"}})
	}

	release := lockRequestRow(t, env.db, id)
	env.srv = short
	got := approve()
	env.srv = patient
	wantStatus(t, got, http.StatusServiceUnavailable)
	if p := got.problem(t); p.Type != problem.Base+"timeout" || p.Detail != timeoutSays || got.Header.Get("Retry-After") != "5" {
		t.Fatalf("decision behind a row lock: %+v, Retry-After %q", p, got.Header.Get("Retry-After"))
	}
	awaitTimeoutWarning(t, logs, "/api/v1/requests/:id/approve", got.Header.Get(echo.HeaderXRequestID))

	release()
	wantUndecided(t, env.db, id, 1)
	ok := approve()
	wantStatus(t, ok, http.StatusOK)
	if v := ok.detail(t); len(v.Decisions) != 1 || v.Decisions[0].Approver != "bob" {
		t.Fatalf("the retried decision: %+v", v.Decisions)
	}
}

// deadlineProbe records the deadline of the context /readyz checks with.
type deadlineProbe struct{ deadline chan time.Time }

func (p deadlineProbe) Ping(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	p.deadline <- dl
	return nil
}
func (p deadlineProbe) SchemaCurrent(context.Context) error { return nil }

// The health checks keep their own timeouts: /readyz waits for the
// database as long as --ready-timeout says, though it is longer than the
// request timeout, and /healthz has no deadline at all; every other route
// has the request's.
func TestRequestDeadlineSkipsHealthChecks(t *testing.T) {
	t.Parallel()
	probe := deadlineProbe{deadline: make(chan time.Time, 1)}
	routes := make(chan string, 4)
	deadlines := map[string]time.Time{}
	record := func(c echo.Context) error {
		dl, _ := c.Request().Context().Deadline()
		deadlines[c.Path()] = dl
		routes <- c.Path()
		return c.NoContent(http.StatusNoContent)
	}
	h := New(Deps{Logger: slog.New(slog.DiscardHandler), Ready: probe, Registry: prometheus.NewRegistry(), Version: "test",
		ReadyTimeout: time.Hour, RequestTimeout: time.Minute},
		func(e *echo.Echo) { e.GET("/probe", record) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(base, path string) int {
		hr, err := http.NewRequestWithContext(uiCtx(t), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := roundTrip(t, http.DefaultClient, hr)
		return res.StatusCode
	}
	start := time.Now()
	if code := get(srv.URL, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d", code)
	}
	if dl := <-probe.deadline; dl.Sub(start) < 30*time.Minute {
		t.Errorf("/readyz checked the database with %s left, want its own hour", dl.Sub(start).Round(time.Second))
	}
	if code := get(srv.URL, "/probe"); code != http.StatusNoContent {
		t.Fatalf("/probe = %d", code)
	}
	<-routes
	if dl := deadlines["/probe"]; dl.IsZero() || dl.Sub(start) > 2*time.Minute {
		t.Errorf("another route's deadline is %v from its start, want the request timeout of a minute", dl.Sub(start))
	}

	// /healthz reads nothing: seen from the middleware's side, it passes
	// through with the context it came with.
	e := echo.New()
	e.Use(requestDeadline(time.Minute))
	e.GET("/healthz", record)
	e.GET("/readyz", record)
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := get(hs.URL, path); code != http.StatusNoContent {
			t.Fatalf("%s = %d", path, code)
		}
		<-routes
		if dl := deadlines[path]; !dl.IsZero() {
			t.Errorf("%s was given a deadline", path)
		}
	}
}

// A page rendered once the request's deadline has passed (the data came
// in just before it, or the page says it passed) is still the whole page:
// templ stops at a context that is done, and render handed it the
// request's.
func TestPagesRenderPastTheDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/requests/1", nil).WithContext(ctx), rec)
	if err := render(c, http.StatusServiceUnavailable, errorPage(http.StatusServiceUnavailable, errorTitle(503), timeoutSays, "req-1", false)); err != nil {
		t.Fatalf("render past the deadline: %v", err)
	}
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), timeoutSays) || !strings.Contains(rec.Body.String(), "</html>") {
		t.Fatalf("%d\n%s", rec.Code, rec.Body.String())
	}
}

// A deadline that reaches the error handler without passing through the
// store's interpreter (pgxpool waiting for a free connection returns the
// context's error as it is) is the same timeout, not an internal error.
func TestBareDeadlineIsATimeout(t *testing.T) {
	t.Parallel()
	h := New(Deps{Logger: slog.New(slog.DiscardHandler), Ready: readiness{}, Registry: prometheus.NewRegistry(), Version: "test"},
		func(e *echo.Echo) {
			e.GET("/waits", func(c echo.Context) error { return fmt.Errorf("acquiring a connection: %w", context.DeadlineExceeded) })
		})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	hr, err := http.NewRequestWithContext(uiCtx(t), http.MethodGet, srv.URL+"/waits", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, body := roundTrip(t, http.DefaultClient, hr)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" || !strings.Contains(string(body), timeoutSays) {
		t.Fatalf("%d, Retry-After %q\n%s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
}
