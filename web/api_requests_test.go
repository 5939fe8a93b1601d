package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/problem"
)

var pathf = fmt.Sprintf

func wantStatus(t *testing.T, r resp, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
}

// Callers without a usable token get 401 from every operation.
func TestAPIUnauthenticatedCallersGet401Everywhere(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "auth-check")
	for _, op := range api.OpenAPI().Operations() {
		method, path, _ := strings.Cut(op, " ")
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		path = strings.NewReplacer("{id}", pathf("%d", id), "{version}", "1").Replace(path)
		for _, as := range []string{asNobody, asExpired, asRevoked, asMalformed} {
			r := env.do(req{method: method, path: path, as: as, body: map[string]any{}})
			wantStatus(t, r, http.StatusUnauthorized)
			p := r.problem(t)
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: no WWW-Authenticate", method, path, as)
			}
			if as == asExpired && !strings.Contains(p.Detail, "expired") || as == asRevoked && !strings.Contains(p.Detail, "revoked") {
				t.Errorf("%s: detail %q does not say why", as, p.Detail)
			}
		}
	}
}

func TestAPIMe(t *testing.T) {
	env := setupAPI(t)
	for as, want := range map[string]string{asAlice: "alice", asBob: "bob", asCarol: "carol"} {
		var me api.MeView
		r := env.do(req{method: "GET", path: "/api/v1/me", as: as})
		wantStatus(t, r, 200)
		r.json(t, &me)
		if me.Name != want || me.Token.ID != env.tok[as].ID || len(me.Roles) == 0 {
			t.Errorf("me as %s = %+v", as, me)
		}
	}
}

func TestAPICreateAndGet(t *testing.T) {
	env := setupAPI(t)
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("nightly-report")})
	wantStatus(t, r, http.StatusCreated)
	v := r.detail(t)
	if v.Status != store.StatusPending || v.Version != 1 || v.Requester != "alice" || v.Spec.Name != "nightly-report" ||
		r.Header.Get("Location") != pathf("/api/v1/requests/%d", v.ID) || v.Plan == nil || len(v.History) == 0 {
		t.Fatalf("created %+v (Location %q)", v, r.Header.Get("Location"))
	}
	if strings.Join(v.Actions, ",") != "cancel" {
		t.Errorf("alice's actions on her pending request: %v", v.Actions)
	}
	// Its requester and approvers may read it (approvers see they may
	// decide); other requesters may not, as on the pages.
	var got api.RequestDetail
	g := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", v.ID), as: asBob})
	wantStatus(t, g, 200)
	g.json(t, &got)
	if got.ID != v.ID || strings.Join(got.Actions, ",") != "approve,reject" {
		t.Fatalf("bob's view: %+v", got)
	}
	// The 201 is built from what was written, not read back: it is what a
	// GET by the same caller answers, field for field.
	mine := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", v.ID), as: asAlice})
	wantStatus(t, mine, 200)
	if !bytes.Equal(mine.body, r.body) {
		t.Fatalf("201 body\n%s\nGET body\n%s", r.body, mine.body)
	}
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", v.ID), as: asErin}), http.StatusForbidden)
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/terraform", v.ID), as: asErin}), http.StatusForbidden)
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests?requester=alice", as: asErin}), http.StatusForbidden)
	env.do(req{method: "GET", path: "/api/v1/requests/999999", as: asAlice}).problem(t)
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests/999999", as: asAlice}), 404)
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests/abc", as: asAlice}), 404)
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/nothing-here", as: asAlice}), 404)

	// The name is taken while the request lives.
	c := env.do(req{method: "POST", path: "/api/v1/requests", as: asErin, body: spec("NIGHTLY-report")})
	wantStatus(t, c, http.StatusConflict)
	if p := c.problem(t); p.Type != problem.Base+"conflict" {
		t.Errorf("type %s", p.Type)
	}
}

// TestAPICreateAnswerIsTheStoredRequest holds the 201 body of a request
// using every spec field (an expiry with nanoseconds the database does not
// keep, managed policies, several scopes) to what GET reads back.
func TestAPICreateAnswerIsTheStoredRequest(t *testing.T) {
	env := setupAPI(t)
	body := spec("full-spec")
	body["max_session_duration"] = 7200
	body["expires_at"] = time.Now().Add(72*time.Hour + 123456789).Format(time.RFC3339Nano)
	body["buckets"] = []map[string]any{
		{"bucket": "example-bucket", "prefix": "reports/", "access": "read"},
		{"bucket": "example-exports", "access": "read-write"},
		{"bucket": "example-bucket", "prefix": "uploads/", "access": "write"},
	}
	created := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body})
	wantStatus(t, created, http.StatusCreated)
	v := created.detail(t)
	if v.Spec.ExpiresAt == nil || len(v.Spec.Buckets) != 3 || len(v.Versions) != 1 || len(v.History) != 1 {
		t.Fatalf("created %s", created.body)
	}
	got := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", v.ID), as: asAlice})
	wantStatus(t, got, 200)
	if !bytes.Equal(got.body, created.body) {
		t.Fatalf("201 body\n%s\nGET body\n%s", created.body, got.body)
	}
}

func TestAPIBodyErrors(t *testing.T) {
	env := setupAPI(t)
	post := func(body string, header map[string]string) resp {
		return env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body, header: header})
	}
	// Malformed JSON: 400 with the position.
	r := post("{\n  \"name\": \"x\",\n  \"buckets\": [}\n", nil)
	wantStatus(t, r, 400)
	if p := r.problem(t); p.Type != problem.Base+"malformed-json" || !strings.Contains(p.Detail, "line 3, column 15") {
		t.Errorf("malformed: %+v", p)
	}
	r = post(`{"name": "x"`, nil)
	wantStatus(t, r, 400)
	wantStatus(t, post(`{"name": "x"} {"again": 1}`, nil), 400)
	wantStatus(t, post(``, nil), 400)

	// Unknown fields and wrong types: 422 naming the field.
	r = post(`{"name": "x", "buckets": [], "justification": "j", "colour": "blue"}`, nil)
	wantStatus(t, r, 422)
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "colour" {
		t.Errorf("unknown field: %+v", p)
	}
	r = post(`{"name": "x", "buckets": "all", "justification": "j"}`, nil)
	wantStatus(t, r, 422)
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "buckets" {
		t.Errorf("wrong type: %+v", p)
	}
	// Invalid values: 422 with every problem.
	r = env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: map[string]any{
		"name": "bad name!", "buckets": []map[string]any{{"bucket": "UPPER", "access": "all"}}, "justification": ""}})
	wantStatus(t, r, 422)
	p := r.problem(t)
	fields := map[string]bool{}
	for _, e := range p.Errors {
		fields[e.Field] = true
	}
	if p.Type != problem.Base+"validation-failed" || !fields["name"] || !fields["justification"] || len(p.Errors) < 3 {
		t.Errorf("validation: %+v", p)
	}

	// Wrong content type: 415. Over 64 KiB: 413.
	wantStatus(t, post(`{"name": "x"}`, map[string]string{"Content-Type": "text/plain"}), 415)
	big := `{"name": "x", "description": "` + strings.Repeat("a", 70<<10) + `"}`
	r = post(big, nil)
	wantStatus(t, r, 413)
	r.problem(t)
	// Chunked, so no Content-Length announces it: still 413.
	r = env.do(req{method: "POST", path: "/api/v1/preview", as: asAlice, body: strings.NewReader(big)})
	wantStatus(t, r, 413)
}

func TestAPIListFiltersAndPages(t *testing.T) {
	env := setupAPI(t)
	for i := range 5 {
		env.create(asAlice, pathf("alice-%d", i))
	}
	env.create(asErin, "erin-1")
	var page api.RequestPage
	r := env.do(req{method: "GET", path: "/api/v1/requests?requester=alice&limit=2", as: asBob})
	wantStatus(t, r, 200)
	r.json(t, &page)
	seen := map[int64]bool{}
	for pages := 1; ; pages++ {
		for _, it := range page.Items {
			if it.Requester != "alice" || seen[it.ID] {
				t.Fatalf("page %d: %+v", pages, it)
			}
			seen[it.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		r = env.do(req{method: "GET", path: "/api/v1/requests?requester=alice&limit=2&cursor=" + page.NextCursor, as: asBob})
		wantStatus(t, r, 200)
		page = api.RequestPage{}
		r.json(t, &page)
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d of alice's 5", len(seen))
	}
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for q, n := range map[string]int{
		"status=pending": 6, "bucket=example-bucket": 6, "bucket=other-bucket": 0, "status=active": 0,
		"updated_since=" + since: 6, "q=erin": 1, "order=oldest&limit=1": 1,
	} {
		var p api.RequestPage
		r := env.do(req{method: "GET", path: "/api/v1/requests?" + q, as: asBob})
		wantStatus(t, r, 200)
		r.json(t, &p)
		if len(p.Items) != n {
			t.Errorf("%s: %d items, want %d", q, len(p.Items), n)
		}
	}
	// Each bad parameter is named in errors, with what it should be: a
	// bad cursor and an over-long q were said in the detail alone, and
	// an unknown status did not list the statuses.
	for q, field := range map[string]string{"status=bogus": "status", "limit=0": "limit", "limit=9999": "limit",
		"updated_since=yesterday": "updated_since", "cursor=%21%21": "cursor", "cursor=eDE": "cursor", "colour=blue": "colour", "order=up": "order",
		"q=" + strings.Repeat("x", 201): "q"} {
		r := env.do(req{method: "GET", path: "/api/v1/requests?" + q, as: asAlice})
		wantStatus(t, r, 400)
		if p := r.problem(t); p.Type != problem.Base+"bad-query" || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%.40s: %s %q %+v, want an error at %s", q, p.Type, p.Detail, p.Errors, field)
		}
	}
	if p := env.do(req{method: "GET", path: "/api/v1/requests?status=bogus", as: asAlice}).problem(t); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "pending") {
		t.Errorf("status=bogus: %+v, want the statuses listed", p.Errors)
	}
	if p := env.do(req{method: "GET", path: "/api/v1/roles?cursor=garbage", as: asBob}).problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
		t.Errorf("roles?cursor=garbage: %+v, want an error at cursor", p.Errors)
	}
}

func TestAPIRateLimit(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	env := setupAPIWith(t, api.Limits{Rate: 0.5, Burst: 2, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}, store.Options{})
	for range 2 {
		wantStatus(t, env.do(req{method: "GET", path: "/api/v1/me", as: asAlice}), 200)
	}
	r := env.do(req{method: "GET", path: "/api/v1/me", as: asAlice})
	wantStatus(t, r, 429)
	if p := r.problem(t); p.Type != problem.Base+"rate-limited" || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("429: %+v Retry-After %q", p, r.Header.Get("Retry-After"))
	}
	// Another token has its own bucket; time refills this one.
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/me", as: asBob}), 200)
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/me", as: asAlice}), 200)
}

// Asking for a role needs the requester role, as on the pages: a token
// made for approving only cannot submit or change requests.
func TestAPICreateNeedsTheRequesterRole(t *testing.T) {
	env := setupAPI(t)
	_, secret, err := env.db.CreateToken(ctxT(t), store.NewToken{User: "frank", Roles: []store.Role{store.RoleApprover}, CreatedBy: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + secret}
	r := env.do(req{method: "POST", path: "/api/v1/requests", body: spec("approvers-own"), header: auth})
	wantStatus(t, r, http.StatusForbidden)
	if p := r.problem(t); !strings.Contains(p.Detail, "requester role") {
		t.Errorf("detail %q", p.Detail)
	}
	wantStatus(t, env.do(req{method: "POST", path: "/api/v1/requests/1/changes", body: spec("approvers-own"), header: auth}), http.StatusForbidden)
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests", header: auth}), http.StatusOK)
}
