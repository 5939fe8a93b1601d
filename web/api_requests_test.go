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
	env := setupAPI(t, api.Limits{})
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
	env := setupAPI(t, api.Limits{})
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
	env := setupAPI(t, api.Limits{})
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("nightly-report")})
	wantStatus(t, r, http.StatusCreated)
	var v api.RequestDetail
	r.json(t, &v)
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
	env := setupAPI(t, api.Limits{})
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
	var v api.RequestDetail
	created.json(t, &v)
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
	env := setupAPI(t, api.Limits{})
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
	env := setupAPI(t, api.Limits{})
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
	for _, q := range []string{"status=bogus", "limit=0", "limit=9999", "updated_since=yesterday", "cursor=%21%21", "colour=blue", "order=up"} {
		r := env.do(req{method: "GET", path: "/api/v1/requests?" + q, as: asAlice})
		wantStatus(t, r, 400)
		if p := r.problem(t); p.Type != problem.Base+"bad-query" {
			t.Errorf("%s: %s", q, p.Type)
		}
	}
}

// The decisions follow the same rules as the pages: no self-approval,
// approvers only, pending only.
func TestAPIApproveReject(t *testing.T) {
	env := setupAPI(t, api.Limits{})
	id := env.create(asAlice, "decide-me")
	approve := func(as string, body any) resp {
		return env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: as, body: body})
	}
	r := approve(asAlice, map[string]any{"comment": "mine"})
	wantStatus(t, r, 403)
	if p := r.problem(t); !strings.Contains(p.Detail, "own request") {
		t.Errorf("self-approval detail: %q", p.Detail)
	}
	wantStatus(t, approve(asErin, map[string]any{"comment": "me too"}), 403)
	wantStatus(t, approve(asBob, map[string]any{"comment": "ok", "version": 2}), 409)
	wantStatus(t, approve(asBob, map[string]any{"comment": "ok", "extra": 1}), 422)
	wantStatus(t, approve(asBob, strings.Repeat("x", 10)), 400)
	r = approve(asBob, map[string]any{"comment": "looks right"})
	wantStatus(t, r, 200)
	var v api.RequestDetail
	r.json(t, &v)
	if v.Status != store.StatusApproved || len(v.Decisions) != 1 || v.Decisions[0].Approver != "bob" || v.Decisions[0].Decision != "approve" {
		t.Fatalf("after approval: %+v", v)
	}
	r = approve(asDave, map[string]any{"comment": "late"})
	wantStatus(t, r, 409)
	if p := r.problem(t); !strings.Contains(p.Detail, "approved") {
		t.Errorf("state conflict detail: %q", p.Detail)
	}
	wantStatus(t, approve(asBob, nil), 409)

	id2 := env.create(asErin, "reject-me")
	rj := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/reject", id2), as: asAlice, body: map[string]any{"comment": "no"}})
	wantStatus(t, rj, 403) // another requester
	rj = env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/reject", id2), as: asCarol, body: map[string]any{"comment": "too broad"}})
	wantStatus(t, rj, 200)
	rj.json(t, &v)
	if v.Status != store.StatusRejected {
		t.Fatalf("after rejection: %s", v.Status)
	}
	wantStatus(t, env.do(req{method: "POST", path: "/api/v1/requests/424242/approve", as: asBob, body: map[string]any{}}), 404)
}

func TestAPICancelRevokeRetryChange(t *testing.T) {
	env := setupAPI(t, api.Limits{})
	act := func(as, action string, id int64, body any) resp {
		return env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/%s", id, action), as: as, body: body})
	}
	// Cancel: the requester, while pending.
	id := env.create(asAlice, "cancel-me")
	wantStatus(t, act(asErin, "cancel", id, nil), 403)
	wantStatus(t, act(asCarol, "cancel", id, nil), 403)
	wantStatus(t, act(asAlice, "cancel", id, `{"why": 1}`), 422)
	wantStatus(t, act(asAlice, "cancel", id, nil), 200)
	wantStatus(t, act(asAlice, "cancel", id, map[string]any{}), 409)

	// Change: the requester of an active role; it goes back to pending.
	id = env.create(asAlice, "change-me")
	wantStatus(t, act(asAlice, "changes", id, spec("change-me")), 409) // still pending
	env.activate(id)
	changed := spec("change-me")
	changed["buckets"] = []map[string]any{{"bucket": "example-bucket", "access": "read"}}
	wantStatus(t, act(asErin, "changes", id, changed), 403)
	wantStatus(t, act(asAlice, "changes", id, spec("renamed")), 422)
	r := act(asAlice, "changes", id, changed)
	wantStatus(t, r, 201)
	var v api.RequestDetail
	r.json(t, &v)
	if v.Version != 2 || v.Status != store.StatusPending || v.LiveVersion != 1 || len(v.Versions) != 2 {
		t.Fatalf("after change: %+v", v)
	}
	wantStatus(t, act(asAlice, "cancel", id, nil), 200) // drops the change; the role stays

	// Revoke: the owner or an admin, while active.
	wantStatus(t, act(asErin, "revoke", id, nil), 403)
	wantStatus(t, act(asBob, "revoke", id, nil), 403)
	wantStatus(t, act(asAlice, "revoke", id, nil), 200)
	wantStatus(t, act(asAlice, "revoke", id, nil), 409)
	id2 := env.create(asErin, "admin-revokes")
	env.activate(id2)
	r = act(asCarol, "revoke", id2, nil)
	wantStatus(t, r, 200)
	r.json(t, &v)
	if v.Status != store.StatusRevoking {
		t.Fatalf("revoke: %s", v.Status)
	}

	// Retry: admins, failed requests only.
	id3 := env.create(asAlice, "fail-me")
	wantStatus(t, act(asCarol, "retry", id3, nil), 409)
	wantStatus(t, act(asBob, "approve", id3, nil), 200)
	if err := env.db.FailProvisioning(ctxT(t), id3, 1, "AccessDenied: not allowed"); err != nil {
		t.Fatal(err)
	}
	for _, as := range []string{asAlice, asErin, asBob} {
		wantStatus(t, act(as, "retry", id3, nil), 403)
	}
	r = act(asCarol, "retry", id3, nil)
	wantStatus(t, r, 200)
	r.json(t, &v)
	if v.Status != store.StatusApproved {
		t.Fatalf("retry: %s", v.Status)
	}
}

func TestAPITerraformRolesAndPreview(t *testing.T) {
	env := setupAPI(t, api.Limits{})
	id := env.create(asAlice, "with-terraform")
	r := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/terraform", id), as: asAlice})
	wantStatus(t, r, 404)
	if p := r.problem(t); p.Type != problem.Base+"not-provisioned" {
		t.Errorf("type %s", p.Type)
	}
	env.activate(id)
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/terraform", id), as: asErin}), 403)
	r = env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/terraform", id), as: asAlice})
	wantStatus(t, r, 200)
	etag := r.Header.Get("ETag")
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || len(etag) != 66 || !strings.Contains(string(r.body), `resource "aws_iam_role"`) {
		t.Fatalf("terraform: %s etag %q\n%s", r.Header.Get("Content-Type"), etag, r.body)
	}
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/terraform", id), as: asAlice, header: map[string]string{"If-None-Match": etag}}), 304)
	v1 := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/versions/1/terraform", id), as: asBob})
	wantStatus(t, v1, 200)
	if string(v1.body) != string(r.body) || v1.Header.Get("ETag") != etag {
		t.Error("version 1's Terraform differs from the current one's")
	}
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/versions/7/terraform", id), as: asBob}), 404)
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests/9999/terraform", as: asBob}), 404)

	var roles api.RequestPage
	rr := env.do(req{method: "GET", path: "/api/v1/roles", as: asErin})
	wantStatus(t, rr, 200)
	rr.json(t, &roles)
	if len(roles.Items) != 1 || roles.Items[0].RoleARN == "" || roles.Items[0].InstanceProfileARN == "" {
		t.Fatalf("roles: %+v", roles)
	}
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/roles?limit=x", as: asErin}), 400)

	var pv api.PreviewView
	p := env.do(req{method: "POST", path: "/api/v1/preview", as: asErin, body: spec("previewed")})
	wantStatus(t, p, 200)
	p.json(t, &pv)
	if pv.Plan.RoleName != "previewed" || !strings.Contains(string(pv.Plan.PermissionsPolicy), "example-bucket") || !strings.Contains(pv.Terraform, "previewed") {
		t.Fatalf("preview: %+v", pv)
	}
	if page := env.do(req{method: "GET", path: "/api/v1/requests?q=previewed", as: asErin}); strings.Contains(string(page.body), "previewed") {
		t.Error("the preview stored a request")
	}
	bad := spec("bad name!")
	wantStatus(t, env.do(req{method: "POST", path: "/api/v1/preview", as: asErin, body: bad}), 422)
}

func TestAPIEvents(t *testing.T) {
	env := setupAPI(t, api.Limits{})
	id := env.create(asErin, "audited")
	env.create(asAlice, "other")
	list := func(as, q string) resp {
		return env.do(req{method: "GET", path: "/api/v1/events" + q, as: as})
	}
	var page api.EventPage
	r := list(asBob, "?kind=request.submitted")
	wantStatus(t, r, 200)
	r.json(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("bob sees %d submissions", len(page.Items))
	}
	wantStatus(t, list(asCarol, ""), 200)
	wantStatus(t, list(asAlice, ""), 403)
	wantStatus(t, list(asAlice, "?actor=erin"), 403)
	r = list(asAlice, "?actor=alice")
	wantStatus(t, r, 200)
	page = api.EventPage{}
	r.json(t, &page)
	for _, e := range page.Items {
		if e.Actor != "alice" {
			t.Errorf("alice sees %+v", e)
		}
	}
	// A request's history follows the request's read rule: erin's is
	// hers (and approvers'), not alice's, not even filtered to her own
	// actions.
	wantStatus(t, list(asErin, pathf("?request_id=%d", id)), 200)
	wantStatus(t, list(asBob, pathf("?request_id=%d", id)), 200)
	wantStatus(t, list(asAlice, pathf("?request_id=%d", id)), 403)
	wantStatus(t, list(asAlice, pathf("?request_id=%d&actor=alice", id)), 403)
	wantStatus(t, list(asAlice, "?request_id=999999"), 404)
	// Paging with after.
	r = list(asBob, "?limit=1")
	page = api.EventPage{}
	r.json(t, &page)
	if len(page.Items) != 1 || page.NextAfter == 0 {
		t.Fatalf("first page: %+v", page)
	}
	r = list(asBob, pathf("?limit=1&after=%d", page.NextAfter))
	wantStatus(t, r, 200)
	for _, q := range []string{"?since=never", "?limit=5000", "?request_id=x", "?colour=1", "?request_id=+1", "?request_id=01", "?after=01", "?request_id=0"} {
		wantStatus(t, list(asBob, q), 400)
	}
}

func TestAPIRateLimit(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	env := setupAPI(t, api.Limits{Rate: 0.5, Burst: 2, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
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
	env := setupAPI(t, api.Limits{})
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
