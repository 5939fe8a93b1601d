package web

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
)

// previewName previews spec(name) in account ("" the default) as as and
// returns what the preview says of the name ("" when it is free).
func (env *apiEnv) previewName(as, name, account string) string {
	env.t.Helper()
	body := spec(name)
	if account != "" {
		body["account"] = account
	}
	r := env.do(req{method: "POST", path: "/api/v1/preview", as: as, body: body})
	wantStatus(env.t, r, http.StatusOK)
	var pv api.PreviewView
	r.json(env.t, &pv)
	if pv.NameTaken == "" && bytes.Contains(r.body, []byte(`"name_taken"`)) {
		env.t.Fatalf("preview of free %s carries name_taken: %s", name, r.body)
	}
	return pv.NameTaken
}

// TestAPIPreviewSaysNameTaken: the API's preview says, in the form's
// words, when another pending or live request holds the role name, ignoring
// case, to anyone who may preview (as the form's preview does) and without
// naming the request; an ended request frees the name.
func TestAPIPreviewSaysNameTaken(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "nightly-report")
	if got := env.previewName(asAlice, "other-report", ""); got != "" {
		t.Fatalf("free name: %q", got)
	}
	// Erin may not read alice's request, and learns only what the form
	// would tell her.
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asErin}), http.StatusForbidden)
	for _, as := range []string{asAlice, asErin} {
		if got := env.previewName(as, "NIGHTLY-Report", ""); got != api.NameTakenMessage {
			t.Fatalf("taken name previewed by %s: %q, want %q", as, got, api.NameTakenMessage)
		}
	}
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/cancel", id), as: asAlice, body: map[string]any{}}), http.StatusOK)
	if got := env.previewName(asErin, "nightly-report", ""); got != "" {
		t.Fatalf("name of a cancelled request: %q", got)
	}
}

// TestAPIPreviewNameTakenPerAccount: a name is taken per account, and
// with several accounts the preview names the one it is taken in.
func TestAPIPreviewNameTakenPerAccount(t *testing.T) {
	set := storetest.TwoAccounts()
	env := setupAPIWith(t, api.Limits{}, store.Options{Settings: &set})
	body := spec("nightly-report")
	body["account"] = "prod"
	wantStatus(t, env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body}), http.StatusCreated)
	want := "a role with this name is already requested or live in account prod; choose another name"
	if got := env.previewName(asErin, "nightly-report", "prod"); got != want {
		t.Fatalf("taken in prod: %q, want %q", got, want)
	}
	if got := env.previewName(asErin, "nightly-report", "dev"); got != "" {
		t.Fatalf("free in dev: %q", got)
	}
}

// TestAPIPreviewOfAChangeKeepsTheExpiryInForce: a change that asks for
// the live version's expiry (here none, where the approver set one)
// keeps the expiry in force, and its preview says so: it said "never
// expires" with the no-expiry flag.
func TestAPIPreviewOfAChangeKeepsTheExpiryInForce(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "nightly-report")
	set := time.Now().UTC().Add(10 * 24 * time.Hour).Truncate(time.Second)
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob,
		body: map[string]any{"version": 1, "expires_at": set.Format(time.RFC3339)}}), http.StatusOK)
	provisionFromStore(t, env.db, id)
	live := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asAlice}).detail(t)
	if live.ExpiresAt == nil {
		t.Fatal("the live role has no expiry")
	}
	r := env.do(req{method: "POST", path: pathf("/api/v1/preview?change_of=%d", id), as: asAlice, body: spec("nightly-report")})
	wantStatus(t, r, http.StatusOK)
	var pv api.PreviewView
	r.json(t, &pv)
	if want := "expires " + live.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"); pv.Summary.Expiry != want {
		t.Errorf("preview of the change: expiry %q, want %q", pv.Summary.Expiry, want)
	}
	for _, risk := range pv.Risks {
		if risk.Code == "no-expiry" {
			t.Errorf("preview of the change flags %+v", risk)
		}
	}
	// A later expiry widens the live role, which the preview now says
	// before the change is sent, as the request page says after.
	later := spec("nightly-report")
	later["expires_at"] = set.Add(5 * 24 * time.Hour).Format(time.RFC3339)
	r = env.do(req{method: "POST", path: pathf("/api/v1/preview?change_of=%d", id), as: asAlice, body: later})
	wantStatus(t, r, http.StatusOK)
	pv = api.PreviewView{}
	r.json(t, &pv)
	if !slices.ContainsFunc(pv.Risks, func(r provision.Risk) bool { return r.Code == "widens" }) {
		t.Errorf("preview of a change extending the expiry: risks %+v, want widens", pv.Risks)
	}
}

// TestAPIPreviewOfAChange: ?change_of= previews a change of the caller's
// own role (its name is not taken by itself); an ID the caller may not
// change previews as a new request, answering exactly as without it; a
// malformed one is a bad query.
func TestAPIPreviewOfAChange(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "nightly-report")
	env.activate(id)
	preview := func(as, query string) resp {
		r := env.do(req{method: "POST", path: "/api/v1/preview" + query, as: as, body: spec("nightly-report")})
		wantStatus(t, r, http.StatusOK)
		return r
	}
	var pv api.PreviewView
	preview(asAlice, pathf("?change_of=%d", id)).json(t, &pv)
	if pv.NameTaken != "" || len(pv.Reuse) != 0 {
		t.Fatalf("alice's preview of a change of her role: name_taken %q, reuse %+v", pv.NameTaken, pv.Reuse)
	}
	// Erin may not change alice's role; nor may anyone change a request
	// that does not exist: the answer is the one without change_of.
	for _, c := range []struct{ as, query string }{{asErin, pathf("?change_of=%d", id)}, {asAlice, "?change_of=999999"}} {
		if got, want := preview(c.as, c.query).body, preview(c.as, "").body; !bytes.Equal(got, want) {
			t.Errorf("%s previewing with %s: %s\nwithout it: %s", c.as, c.query, got, want)
		}
	}
	for _, query := range []string{"?change_of=abc", "?change_of=01", pathf("?change_of=%d&change_of=%d", id, id), "?colour=blue"} {
		wantStatus(t, env.do(req{method: "POST", path: "/api/v1/preview" + query, as: asAlice, body: spec("nightly-report")}), http.StatusBadRequest)
	}
}

// TestAPIPreviewOfAChangeKeepingAnExpiryThatHasPassed: the expiry the
// live version asked for may have passed while the role, live later than
// asked, has not expired. A change repeating it keeps the expiry in force:
// the preview answers with that expiry (it answered 422, "expiry must be
// in the future"), and the change is taken (it was refused alike).
func TestAPIPreviewOfAChangeKeepingAnExpiryThatHasPassed(t *testing.T) {
	env := setupAPI(t)
	body := spec("nightly-report")
	body["expires_at"] = time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body})
	wantStatus(t, r, http.StatusCreated)
	id := r.detail(t).ID
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob,
		body: map[string]any{"version": 1}}), http.StatusOK)
	provisionFromStore(t, env.db, id)
	asked := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	inForce := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	ctx := ctxT(t)
	if _, err := env.db.Pool().Exec(ctx, `UPDATE request_versions SET expires_at = $2 WHERE request_id = $1`, id, asked); err != nil {
		t.Fatal(err)
	}
	if _, err := env.db.Pool().Exec(ctx, `UPDATE requests SET expires_at = $2 WHERE id = $1`, id, inForce); err != nil {
		t.Fatal(err)
	}
	change := spec("nightly-report")
	change["description"] = "reads the reports bucket, typo fixed"
	change["expires_at"] = asked.Format(time.RFC3339)
	r = env.do(req{method: "POST", path: pathf("/api/v1/preview?change_of=%d", id), as: asAlice, body: change})
	wantStatus(t, r, http.StatusOK)
	var pv api.PreviewView
	r.json(t, &pv)
	if want := "expires " + inForce.Format("2006-01-02 15:04 UTC"); pv.Summary.Expiry != want {
		t.Errorf("preview of the change: expiry %q, want %q", pv.Summary.Expiry, want)
	}
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", id), as: asAlice, body: change}), http.StatusCreated)
}
