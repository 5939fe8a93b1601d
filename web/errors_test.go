package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/problem"
)

// The store's error kinds reach API callers through the one table: each
// with its status, problem type and the store's message as a sentence (a
// fixed one where the message would reveal something).
func TestAPIAnswersStoreErrorsByKind(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "wording-check")
	own := env.create(asBob, "wording-own")
	for _, tc := range []struct {
		name            string
		r               req
		status          int
		problem, detail string
	}{
		{"forbidden", req{method: "POST", path: pathf("/api/v1/requests/%d/approve", own), as: asBob, body: map[string]any{}},
			http.StatusForbidden, "forbidden", "You cannot decide on your own request."},
		{"forbidden from a change", req{method: "POST", path: pathf("/api/v1/requests/%d/retry", id), as: asAlice, body: map[string]any{}},
			http.StatusForbidden, "forbidden", "Only admins can retry."},
		{"conflict", req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("wording-check")},
			http.StatusConflict, "conflict", `A role named "wording-check" is already requested or live.`},
		{"not found", req{method: "GET", path: "/api/v1/requests/999999", as: asBob},
			http.StatusNotFound, "not-found", "No such resource."},
		{"bad cursor", req{method: "GET", path: "/api/v1/roles?cursor=garbage", as: asBob},
			http.StatusBadRequest, "bad-query", "The cursor is not one this API gave out."},
		{"forbidden by the API", req{method: "GET", path: "/api/v1/events?actor=bob", as: asAlice},
			http.StatusForbidden, "forbidden", "Requesters list the events of a request they may read (request_id=) or their own actions (actor=alice); the whole trail is for approvers and admins."},
		{"bad token", req{method: "GET", path: "/api/v1/me", as: asMalformed},
			http.StatusUnauthorized, "unauthorized", "Malformed token."},
	} {
		r := env.do(tc.r)
		wantStatus(t, r, tc.status)
		if p := r.problem(t); p.Type != problem.Base+tc.problem || p.Detail != tc.detail || p.Title != http.StatusText(tc.status) {
			t.Errorf("%s: %s %q (%s), want %s %q", tc.name, p.Type, p.Detail, p.Title, tc.problem, tc.detail)
		}
	}
}

// Pages say the general kind's words: a refined kind (a bad cursor is an
// invalid value) keeps the status and message people have always seen.
func TestPagesAnswerStoreErrorsByGeneralKind(t *testing.T) {
	f := uiProxyTest(t)
	bob := f.client("bob", approverGroups)
	for path, want := range map[string]struct {
		status int
		text   string
	}{
		"/dashboard?cursor=garbage": {http.StatusUnprocessableEntity, "Malformed page cursor."},
		"/requests/999999":          {http.StatusNotFound, "There is nothing here. It may have been removed, or the link is mistyped."},
	} {
		r := bob.get(path)
		if r.status != want.status || !strings.Contains(r.body, want.text) {
			t.Errorf("%s: %d, want %d with %q\n%s", path, r.status, want.status, want.text, r.body)
		}
	}
}

// A statement the database refuses past the store's own checks (a race
// between two writes, or a rule of the schema the store does not check
// first) reaches people in plain words, in the API and on pages alike,
// never naming a table or constraint; the request's log line keeps what
// the database said, with the constraint.
func TestDatabaseRefusalsReachPeopleInPlainWords(t *testing.T) {
	t.Parallel()
	env, logs := newLoggedAPIEnv(t)
	env.addToken(asBob, store.NewToken{User: "bob", Roles: []store.Role{store.RoleRequester, store.RoleApprover}})
	// Two rules of the schema the store knows nothing of, standing in
	// for the rare refusal its own checks do not foresee.
	const collision, refusal = "request_versions_rare_collision", "decisions_rare_refusal"
	for _, ddl := range []string{
		`CREATE UNIQUE INDEX ` + collision + ` ON request_versions (justification) WHERE justification = 'sent twice'`,
		`ALTER TABLE decisions ADD CONSTRAINT ` + refusal + ` CHECK (comment <> 'refused by the database')`,
	} {
		if _, err := env.db.Pool().Exec(ctxT(t), ddl); err != nil {
			t.Fatal(err)
		}
	}
	const (
		collided = "This collides with something saved at the same moment (the same form sent twice, perhaps); look again before trying once more."
		refused  = "A value is outside what rolegate accepts; check what was entered."
	)
	leaks := []string{collision, refusal, "constraint", "request_versions", "decisions", "violates", "duplicate key"}
	twice := func(name string) map[string]any {
		b := spec(name)
		b["justification"] = "sent twice"
		return b
	}
	if r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: twice("first-of-two")}); r.StatusCode != http.StatusCreated {
		t.Fatalf("first request: %d %s", r.StatusCode, r.body)
	}
	for _, tc := range []struct {
		name   string
		r      req
		status int
		detail string
	}{
		{"a rare conflict", req{method: "POST", path: "/api/v1/requests", as: asAlice, body: twice("second-of-two")},
			http.StatusConflict, collided},
		{"a rare conflict under an Idempotency-Key", req{method: "POST", path: "/api/v1/requests", as: asAlice, body: twice("third-of-two"),
			header: map[string]string{"Idempotency-Key": "rare-conflict"}}, http.StatusConflict, collided},
		{"a refused value", req{method: "POST", path: pathf("/api/v1/requests/%d/approve", env.create(asAlice, "refused-by-api")), as: asBob,
			body: map[string]any{"comment": "refused by the database"}}, http.StatusUnprocessableEntity, refused},
	} {
		r := env.do(tc.r)
		wantStatus(t, r, tc.status)
		if p := r.problem(t); p.Detail != tc.detail {
			t.Errorf("%s: the API says %q, want %q", tc.name, p.Detail, tc.detail)
		}
		for _, leak := range leaks {
			if bytes.Contains(bytes.ToLower(r.body), []byte(leak)) {
				t.Errorf("%s: the API's answer names %q: %s", tc.name, leak, r.body)
			}
		}
	}

	f := &uiFixture{t: t, db: env.db, srv: env.srv, ctx: uiCtx(t)}
	id := env.create(asAlice, "refused-on-page")
	page := f.client("bob", approverGroups).follow(fmt.Sprintf("/requests/%d/decide", id),
		url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {"refused by the database"}})
	pageHas(t, page, "flash-error", refused)
	pageLacks(t, page, collision, refusal, "violates")
	// With a shorter expiry beside it, the refusal is still the
	// decision's, not the expiry field's.
	asked := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Minute)
	in := uiNewReq("refused-with-expiry", "alice")
	in.Spec.ExpiresAt = &asked
	withExpiry := uiCreate(t, env.db, in)
	page = f.client("bob", approverGroups).follow(fmt.Sprintf("/requests/%d/decide", withExpiry.ID),
		url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {"refused by the database"},
			"expires_at": {asked.Add(-24 * time.Hour).Format(expiryLayout)}})
	pageHas(t, page, "flash-error", refused)
	pageLacks(t, page, fmt.Sprintf(`id="expires-%d-error"`, withExpiry.ID), collision, refusal, "violates")

	// Each refusal is a warning on its request's log line, with the
	// database's words and the constraint.
	records := logs.await(t, func(records []map[string]string) bool {
		return len(withAttr(records, "constraint", collision)) == 2 && len(withAttr(records, "constraint", refusal)) == 3
	})
	for _, r := range records {
		if _, ok := r["db_refusal"]; ok && (r["level"] != "WARN" || !strings.Contains(r["db_refusal"], "violates")) {
			t.Errorf("a refusal's log record is not a warning with the database's words: %v", r)
		}
	}
}

// withAttr returns the records whose attribute key is value.
func withAttr(records []map[string]string, key, value string) []map[string]string {
	var out []map[string]string
	for _, r := range records {
		if r[key] == value {
			out = append(out, r)
		}
	}
	return out
}

// logRecorder is a slog.Handler keeping the records the server logs,
// attributes and all, for a test to await; each record is signalled, so
// the test awaits records rather than sleeps. Records logged through
// With carry its attributes too.
type logRecorder struct {
	*logRecords
	with []slog.Attr
}

type logRecords struct {
	mu      sync.Mutex
	records []map[string]string // each record's attributes, with "level" and "msg"
	logged  chan struct{}
}

// newLoggedAPIEnv is an API environment whose server logs into the
// returned recorder, with a requester token for alice.
func newLoggedAPIEnv(t *testing.T) (*apiEnv, logRecorder) {
	env := newAPIEnv(t, store.Options{})
	logs := newLogRecorder()
	deps := testDeps(env.db)
	deps.Logger = slog.New(logs)
	env.srv = httptest.NewServer(newServer(deps, uiProxyIdentity(), env.db, api.Limits{}))
	t.Cleanup(env.srv.Close)
	env.addToken(asAlice, store.NewToken{User: "alice", Roles: []store.Role{store.RoleRequester}})
	return env, logs
}

func newLogRecorder() logRecorder {
	return logRecorder{logRecords: &logRecords{logged: make(chan struct{}, 1)}}
}

func (r logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r logRecorder) WithGroup(string) slog.Handler            { return r }
func (r logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return logRecorder{r.logRecords, append(slices.Clip(r.with), as...)}
}

func (r logRecorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"level": rec.Level.String(), "msg": rec.Message}
	for _, a := range r.with {
		m[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.records = append(r.records, m)
	r.mu.Unlock()
	select {
	case r.logged <- struct{}{}:
	default:
	}
	return nil
}

// await returns the records logged once cond holds of them, failing the
// test after ten seconds.
func (r logRecorder) await(t *testing.T, cond func([]map[string]string) bool) []map[string]string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		records := slices.Clone(r.records)
		r.mu.Unlock()
		if cond(records) {
			return records
		}
		select {
		case <-r.logged:
		case <-deadline:
			t.Fatalf("the log never showed what the test awaits; it holds:\n%v", records)
		}
	}
}
