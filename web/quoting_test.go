package web

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
)

// craftedPrefix closes the backtick quote the words put around it and
// goes on with words of its own, to make approvers read that the scope
// was withdrawn.
const craftedPrefix = "tmp/` (none: scope withdrawn); list keys under `tmp/"

// craftedInWords is craftedPrefix as the words quote it.
const craftedInWords = `tmp/\u0060 (none: scope withdrawn); list keys under \u0060tmp/`

// saysOutsideQuotes reports whether s says word outside its backtick
// quotes, in rolegate's own voice.
func saysOutsideQuotes(s, word string) bool {
	for i, part := range strings.Split(s, "`") {
		if i%2 == 0 && strings.Contains(part, word) {
			return true
		}
	}
	return false
}

// TestAPIPrefixCannotEndItsQuote: a prefix with a backtick is refused at
// its field by the preview, a new request and a change; one stored before
// stays inside its quotes in the summary, the risk messages and a change's
// words, and such a role can still be provisioned and changed.
func TestAPIPrefixCannotEndItsQuote(t *testing.T) {
	env := setupAPI(t)
	body := spec("spoof")
	body["buckets"] = []map[string]any{{"bucket": "team-payroll", "prefix": craftedPrefix, "access": "read-write"}}
	for _, path := range []string{"/api/v1/preview", "/api/v1/requests"} {
		wantFieldProblem(t, env.do(req{method: "POST", path: path, as: asAlice, body: body}), http.StatusUnprocessableEntity,
			"buckets[0].prefix", "prefix must not contain a backtick (`); AWS advises against it in object keys")
	}

	body["buckets"] = []map[string]any{{"bucket": "team-payroll", "prefix": "tmp/", "access": "read-write"}}
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body})
	wantStatus(t, r, http.StatusCreated)
	id := r.detail(t).ID
	if _, err := env.db.Pool().Exec(ctxT(t), `UPDATE request_scopes SET prefix = $2 WHERE request_id = $1`, id, craftedPrefix); err != nil {
		t.Fatal(err)
	}
	d := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asBob}).detail(t)
	if d.Summary == nil {
		t.Fatalf("no summary for the stored prefix: %+v", d)
	}
	said := append([]string{d.Summary.Text, d.Summary.Short}, d.Summary.Access...)
	for _, rk := range d.Risks {
		said = append(said, rk.Message)
	}
	if !strings.Contains(d.Summary.Text, "read, write and delete objects under `team-payroll/"+craftedInWords+"`") {
		t.Errorf("summary %q lacks the quoted prefix", d.Summary.Text)
	}

	// Live, then changed to another prefix: the change's words quote the
	// prefix it removes.
	// Read-write needs two approvals: dave's, then bob's in activate.
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asDave, body: map[string]any{"comment": "ok"}}), http.StatusOK)
	env.activate(id)
	body["buckets"] = []map[string]any{{"bucket": "team-payroll", "prefix": "in/", "access": "read"}}
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", id), as: asAlice, body: body}), http.StatusCreated)
	d = env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asBob}).detail(t)
	if d.Change == nil || !strings.Contains(d.Change.Text, "delete objects under `team-payroll/"+craftedInWords+"`") {
		t.Fatalf("change %+v lacks the quoted prefix", d.Change)
	}
	said = append(said, d.Change.Text)
	said = append(said, d.Change.Removes...)
	for _, s := range said {
		if saysOutsideQuotes(s, "withdrawn") || strings.Count(s, "`")%2 != 0 {
			t.Errorf("the prefix ends its quote in %q", s)
		}
	}
}

// TestPagesPrefixCannotEndItsQuote: the form's preview refuses a prefix
// with a backtick at its field; the request page and the dashboard row of
// a request stored with one keep it inside its quotes.
func TestPagesPrefixCannotEndItsQuote(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	alice.get("/requests/new")
	pv := alice.post("/requests/preview", url.Values{"name": {"spoof"}, "bucket": {"team-payroll"}, "prefix": {craftedPrefix}, "access": {"read-write"}})
	pageHas(t, pv, "prefix must not contain a backtick")
	pageLacks(t, pv, "sts:AssumeRole")

	r := uiCreate(t, f.db, uiNewReq("spoof", "alice", provision.BucketScope{Bucket: "team-payroll", Prefix: "tmp/", Access: provision.AccessReadWrite}))
	if _, err := f.db.Pool().Exec(f.ctx, `UPDATE request_scopes SET prefix = $2 WHERE request_id = $1`, r.ID, craftedPrefix); err != nil {
		t.Fatal(err)
	}
	bob := f.client("bob", "approvers")
	page, dash := bob.get(pathf("/requests/%d", r.ID)), bob.get("/dashboard")
	words := "read, write and delete objects under `team-payroll/" + craftedInWords + "`"
	risk := "may delete objects under `team-payroll/" + craftedInWords + "`"
	textHas(t, page, words, risk)
	textHas(t, dash, words)
	// The dashboard's delete badge says why in its title.
	if !strings.Contains(html.UnescapeString(dash.body), `title="`+risk+`"`) {
		t.Errorf("dashboard lacks the badge title %q; got:\n%s", risk, pageExcerpt(dash.body))
	}
	// What the words said before: the prefix ended its quote.
	for _, p := range []uiResponse{page, dash} {
		pageLacks(t, p, "under `team-payroll/tmp/` (none", "under `tmp/` (none")
	}
}

// spoofingPrefix is a prefix a requester may submit that, shown bare
// after its bucket, goes on in rolegate's voice: "+ b/tmp/ (read); -
// other/ (read)" reads as if a change also removed a scope, and "b/a/
// (read), b/tmp/ (read); - other/ (read)" as a third scope.
const spoofingPrefix = "tmp/ (read); - other/"

// TestPagesScopeListsQuoteAPrefix: the scope lines of a change on the
// request's timeline, its list of versions and its dashboard row quote
// each bucket/prefix as the words do, so a prefix cannot add words of
// its own.
func TestPagesScopeListsQuoteAPrefix(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("spoof-lines", "alice"))) // read on team-reports/daily/
	page := pathf("/requests/%d", live.ID)
	changed := alice.follow(page+"/change", url.Values{"name": {"spoof-lines"}, "justification": {"tmp too"},
		"bucket": {"team-reports", "team-reports"}, "prefix": {"daily/", spoofingPrefix}, "access": {"read", "read"}})
	textHas(t, changed, "Change to spoof-lines submitted")

	bob := f.client("bob", "approvers")
	detail, dash := bob.get(page), bob.get("/dashboard")
	textHas(t, detail, "+ `team-reports/tmp/ (read); - other/` (read)",
		": `team-reports/daily/` (read), `team-reports/tmp/ (read); - other/` (read)")
	textHas(t, dash, "`team-reports/daily/` (read), `team-reports/tmp/ (read); - other/` (read)")
	// What the pages said before: the prefix's own "(read); - other/"
	// followed by rolegate's "(read)", unquoted.
	for _, p := range []uiResponse{detail, dash} {
		pageLacks(t, p, "/tmp/ (read); - other/ (read)")
	}
}
