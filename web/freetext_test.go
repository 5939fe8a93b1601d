package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
)

// rlo is the right-to-left override, which displays the text after it
// reversed: "access for testing\u202egnitset" reads "access for
// testingtesting".
const rlo = "\u202e"

// The free-text fields people write and others read refuse invisible
// controls on the pages, at their field with 422, naming the character
// and where it is; line breaks stay allowed.
func TestFreeTextRefusedOnPages(t *testing.T) {
	t.Parallel()
	f, _ := uiReviewFixture(t, quarterly)
	alice, bob := f.client("alice", ""), f.client("bob", approverGroups)
	form := func(name, justification string) url.Values {
		return url.Values{"name": {name}, "justification": {justification}, "bucket": {"team-reports"},
			"prefix": {"daily/"}, "access": {"read"}}
	}

	// The justification of a new request and of a change.
	alice.get("/requests/new")
	r := alice.post("/requests/new", form("spoofed", "access for testing"+rlo+"gnitset"))
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("justification with U+202E: %d, want 422\n%s", r.status, pageExcerpt(r.body))
	}
	pageHas(t, r, `id="f-justification-error"`, `aria-invalid="true"`)
	textHas(t, r, "justification contains an invisible control character (U+202E, right-to-left override) at character 19; remove it")
	r = alice.post("/requests/new", form("escaped", "line one\r\nthe \x1b[2Jjob"))
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("justification with ESC: %d, want 422", r.status)
	}
	textHas(t, r, "justification contains an invisible control character (U+001B, escape) at character 5 of line 2; remove it")
	multi := "the nightly job\r\nreads\tthe reports"
	pageHas(t, alice.follow("/requests/new", form("multi-line", multi)), "submitted")
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("live-one", "alice")))
	change := fmt.Sprintf("/requests/%d/change", live.ID)
	alice.get(change)
	r = alice.post(change, form("live-one", "more\u2067 buckets"))
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("change justification with U+2067: %d, want 422", r.status)
	}
	textHas(t, r, "justification contains an invisible control character (U+2067, right-to-left isolate) at character 5; remove it")

	// A decision's comment, on the request page and on the dashboard.
	pending := uiCreate(t, f.db, uiNewReq("pending-one", "alice"))
	page := fmt.Sprintf("/requests/%d", pending.ID)
	bob.get(page)
	for _, back := range []string{"", "/dashboard"} {
		r = bob.post(page+"/decide", url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {"fine\abut"}, "return": {back}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("comment with BEL (back to %q): %d, want 422", back, r.status)
		}
		pageHas(t, r, fmt.Sprintf(`id="comment-%d-error"`, pending.ID), `aria-invalid="true"`)
		textHas(t, r, "The comment contains an invisible control character (U+0007, bell) at character 5; remove it.")
	}
	if got, _ := f.db.GetRequest(f.ctx, pending.ID); got.Status != store.StatusPending {
		t.Errorf("after refused comments: %s", got.Status)
	}

	// A review's note.
	r = alice.post(fmt.Sprintf("/reviews/%d/confirm", live.ID), url.Values{"note": {"still \u0085needed"}, "return": {"/reviews"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("note with U+0085: %d, want 422", r.status)
	}
	textHas(t, r, "the note contains an invisible control character (U+0085, next line) at character 7; remove it")

	// A token's description, one line.
	alice.get("/settings/tokens")
	for desc, says := range map[string]string{
		"ci " + rlo + "yolped": "The description contains an invisible control character (U+202E, right-to-left override) at character 4; remove it.",
		"ci \u009b31m red":     "The description contains an invisible control character (U+009B, control sequence introducer) at character 4; remove it.",
		"ci\tdeploy":           "The description is one line: replace its line breaks and tabs with spaces.",
	} {
		r = alice.post("/settings/tokens", url.Values{"description": {desc}, "expiry": {"30d"}, "role": {"requester"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("token description %q: %d, want 422", desc, r.status)
		}
		pageHas(t, r, `id="t-description-error"`)
		textHas(t, r, says)
	}
	if tokens, err := f.db.ListTokens(f.ctx, "alice"); err != nil || len(tokens) != 0 {
		t.Fatalf("alice's tokens after refused forms: %d, %v", len(tokens), err)
	}
}

// The API refuses the same characters in the same fields, with 422 and
// the field in the problem's errors; a justification's problem comes with
// the spec's own, all at once.
func TestFreeTextRefusedByAPI(t *testing.T) {
	env := setupAPIWith(t, api.Limits{}, store.Options{Reviews: quarterly})
	fieldProblem := func(what string, r resp, field, says string) {
		t.Helper()
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", what, r.StatusCode, r.body)
			return
		}
		for _, e := range r.problem(t).Errors {
			if e.Field == field && e.Message == says {
				return
			}
		}
		t.Errorf("%s: errors %s, want %s: %q", what, r.body, field, says)
	}

	body := spec("spoofed")
	body["justification"] = "access for testing" + rlo + "gnitset"
	body["name"] = "bad name!"
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body})
	fieldProblem("create", r, "justification", "justification contains an invisible control character (U+202E, right-to-left override) at character 19; remove it")
	fieldProblem("create", r, "name", `role name may contain only letters, digits and + = , . @ _ - (found " ")`)

	body = spec("multi-line")
	body["justification"] = "the nightly job\nreads\tthe reports"
	if r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body}); r.StatusCode != http.StatusCreated {
		t.Fatalf("multi-line justification: %d %s", r.StatusCode, r.body)
	}

	id := env.create(asAlice, "reports-reader")
	env.activate(id)
	body = spec("reports-reader")
	body["justification"] = "\u2069"
	r = env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", id), as: asAlice, body: body})
	fieldProblem("change", r, "justification", "justification contains an invisible control character (U+2069, pop directional isolate) at character 1; remove it")

	pending := env.create(asAlice, "pending-one")
	for verb, comment := range map[string]string{"approve": "ok\x7f", "reject": "no\u202a"} {
		r = env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/%s", pending, verb), as: asBob, body: map[string]any{"comment": comment}})
		says := map[string]string{
			"approve": "comment contains an invisible control character (U+007F, delete) at character 3; remove it",
			"reject":  "comment contains an invisible control character (U+202A, left-to-right embedding) at character 3; remove it",
		}[verb]
		fieldProblem(verb, r, "comment", says)
	}
	// The length is the same rule's, said at the same field.
	r = env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", pending), as: asBob,
		body: map[string]any{"comment": strings.Repeat("x", store.MaxDecisionComment+1)}})
	fieldProblem("long comment", r, "comment", "comment is over 4000 characters")

	r = env.do(req{method: "POST", path: pathf("/api/v1/reviews/%d/confirm", id), as: asAlice,
		body: map[string]any{"note": "fine\n\x1b]0;pwned\x07"}})
	fieldProblem("review note", r, "note", "the note contains 2 invisible control characters, the first (U+001B, escape) at character 1 of line 2; remove them")
}

// Text stored before the rule shows what it holds: each refused character
// written out, nothing left to reorder the page, and the text in a <bdi>
// so that even its legitimate right-to-left runs keep to themselves.
func TestStoredFreeTextShownSafely(t *testing.T) {
	f := uiProxyTest(t)
	bob, carol := f.client("bob", approverGroups), f.client("carol", "admins")
	write := provision.BucketScope{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessReadWrite}
	r := uiCreate(t, f.db, uiNewReq("old-one", "alice", write))
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 1, store.Decision{Approve: true, Comment: "ok"}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := f.db.CreateToken(f.ctx, store.NewToken{User: "carol", Roles: []store.Role{store.RoleAdmin}, Description: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	// As a rolegate before the rule let them be written.
	for _, q := range []struct {
		sql string
		arg any
	}{
		{`UPDATE request_versions SET justification = $2 WHERE request_id = $1`, "access for testing" + rlo + "gnitset"},
		{`UPDATE decisions SET comment = $2 WHERE request_id = $1`, "looks fine" + rlo + " (yes)"},
		{`UPDATE api_tokens SET description = $2 WHERE id = $1`, "ci \x1b[31mred"},
	} {
		id := r.ID
		if strings.Contains(q.sql, "api_tokens") {
			id = tok.ID
		}
		if _, err := f.db.Pool().Exec(f.ctx, q.sql, id, q.arg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.AppendEvent(f.ctx, store.Event{Actor: "dave", Kind: "request.commented", RequestID: r.ID,
		Data: map[string]any{"comment": "\u2067reversed", "reason": "kept"}}); err != nil {
		t.Fatal(err)
	}

	shown := map[string][]string{
		fmt.Sprintf("/requests/%d", r.ID): {
			`<dd class="prewrap" id="justification"><bdi>access for testing[U+202E right-to-left override]gnitset</bdi></dd>`,
			`“<bdi>looks fine[U+202E right-to-left override] (yes)</bdi>”`,
			`“<bdi>[U+2067 right-to-left isolate]reversed</bdi>”`,
		},
		"/dashboard": {`<div class="justification"><bdi>access for testing[U+202E right-to-left override]gnitset</bdi></div>`},
		"/audit":     {`“<bdi>[U+2067 right-to-left isolate]reversed</bdi>” · reason: kept`},
	}
	for path, want := range shown {
		page := bob.get(path)
		pageHas(t, page, want...)
		pageLacks(t, page, rlo, "\u2067")
	}
	tokens := carol.get("/settings/tokens")
	pageHas(t, tokens, `<div class="token-desc"><bdi>ci [U+001B escape][31mred</bdi></div>`, "Revoke token "+fmt.Sprint(tok.ID)+" (ci [U+001B escape][31mred)")
	pageLacks(t, tokens, "\x1b")
	revoked := carol.follow(fmt.Sprintf("/settings/tokens/%d/revoke", tok.ID), nil)
	textHas(t, revoked, "(ci [U+001B escape][31mred) revoked")
	pageLacks(t, revoked, "\x1b")
}
