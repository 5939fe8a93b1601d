package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// liveRoleUnderANewPrefix is alice's live role of a 62-character name,
// made with no name prefix, and a store on the same database whose
// prefix is now "team-", under which that name is too long.
func liveRoleUnderANewPrefix(t *testing.T) (store.Request, string, *store.DB) {
	t.Helper()
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{})
	name := strings.Repeat("n", 62)
	r := uiActivate(t, db, uiCreate(t, db, uiNewReq(name, "alice")))
	set := provision.DefaultSettings()
	set.NamePrefix = "team-"
	return r, name, storetest.Open(t, dbURL, store.Options{Settings: &set})
}

// A live role keeps the name it has in IAM when the name prefix changes,
// so its page judges a change under that name: a name that would be too
// long under the new prefix still gets its plan, its assessment and the
// policy diff against the live version.
func TestChangePageKeepsTheLiveNameUnderANewPrefix(t *testing.T) {
	r, _, renamed := liveRoleUnderANewPrefix(t)
	spec := r.Spec
	spec.Buckets = []provision.BucketScope{{Bucket: "team-reports", Prefix: "daily/eu/", Access: provision.AccessRead}}
	if _, err := renamed.RequestChange(uiCtx(t), store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, r.ID,
		store.NewVersion{Spec: spec, Justification: "only the EU reports"}); err != nil {
		t.Fatalf("change under the new prefix: %v", err)
	}
	f := uiServe(t, renamed, uiProxyIdentity())
	page := f.client("bob", "approvers").get(fmt.Sprintf("/requests/%d", r.ID))
	pageHas(t, page, `data-testid="no-new-access"`, "Policy diff against the live version", "daily/eu/")
	if strings.Contains(page.body, "cannot be rendered") {
		t.Errorf("the page says the change cannot be planned:\n%s", pageExcerpt(page.body))
	}
}

// A new role whose name in IAM under the new prefix is the name of a live
// role created under the old one is refused at its name, naming that IAM
// name: in the form's preview and on submit, in the API's preview and on
// create; not at provisioning, as someone else's role.
func TestNewRoleNamedInIAMAsALiveRoleOfAnEarlierPrefix(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{})
	uiActivate(t, db, uiCreate(t, db, uiNewReq("team-x", "alice")))
	set := provision.DefaultSettings()
	set.NamePrefix = "team-"
	renamed := storetest.Open(t, dbURL, store.Options{Settings: &set})
	f := uiServe(t, renamed, uiProxyIdentity())
	const says = `with the name prefix "team-" this role would be named "team-x" in IAM, the name of another request's role created under an earlier name prefix; choose another name`

	erin := f.client("erin", "")
	erin.get("/requests/new")
	form := url.Values{"name": {"x"}, "bucket": {"team-reports"}, "access": {"read"}}
	pv := erin.post("/requests/preview", form)
	textHas(t, pv, "Role name", says[1:])
	pageLacks(t, pv, "sts:AssumeRole")
	form.Set("justification", "the nightly job reads it")
	r := erin.post("/requests/new", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("submitting x under the prefix team-: %d", r.status)
	}
	pageHas(t, r, `id="f-name-error"`)
	textHas(t, r, says[1:])

	env := &apiEnv{t: t, db: renamed, srv: f.srv, tokens: map[string]string{}, tok: map[string]store.Token{}}
	env.addToken(asErin, store.NewToken{User: "erin", Roles: []store.Role{store.RoleRequester}})
	if got := env.previewName(asErin, "x", ""); got != says {
		t.Errorf("API preview of x: %q, want %q", got, says)
	}
	if got := env.previewName(asErin, "y", ""); got != "" {
		t.Errorf("API preview of y: %q, want it free", got)
	}
	created := env.do(req{method: "POST", path: "/api/v1/requests", as: asErin, body: spec("x")})
	wantStatus(t, created, http.StatusUnprocessableEntity)
	if p := created.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "name" || p.Errors[0].Message != says {
		t.Errorf("API create of x: %s, want %q at name", created.body, says)
	}
}

// A request whose provisioning began under an earlier name prefix and role
// path, and failed, shows the role ARN it will have, and its Terraform,
// under the name and path it began with: a retry completes that role.
func TestFailedPageKeepsTheNameItsProvisioningBeganWith(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{})
	ctx := uiCtx(t)
	r := uiCreate(t, db, uiNewReq("begun", "alice"))
	if _, err := db.Decide(ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginProvisioning(ctx, r.ID, r.Version); err != nil {
		t.Fatal(err)
	}
	if err := db.FailProvisioning(ctx, r.ID, r.Version, "IAM refused part-way"); err != nil {
		t.Fatal(err)
	}
	set := provision.DefaultSettings()
	set.NamePrefix, set.RolePath = "team-", "/moved/"
	renamed := storetest.Open(t, dbURL, store.Options{Settings: &set})
	f := uiServe(t, renamed, uiProxyIdentity())
	page := f.client("bob", "approvers").get(fmt.Sprintf("/requests/%d", r.ID))
	if got, want := codeText(t, page, "planned-arn"), "arn:aws:iam::*:role/rolegate/begun"; got != want {
		t.Errorf("planned ARN = %q, want %q", got, want)
	}
	pageLacks(t, page, "team-begun", "/moved/")
}

// codeText is the text of the element of id on page, without its tags and
// white space (an ARN is shown in parts that may break).
func codeText(t *testing.T, page uiResponse, id string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page.body, `id="`+id+`"`)
	if !ok {
		t.Fatalf("page lacks #%s:\n%s", id, pageExcerpt(page.body))
	}
	_, rest, _ = strings.Cut(rest, ">")
	rest, _, _ = strings.Cut(rest, "</code>")
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(rest, "")), "")
}

// A change of a live role is previewed, checked and shown under the IAM
// name its role keeps after a name-prefix change, as the store assesses
// and provisions it: the change form and its live preview, the form sent
// back with an error of its own, and the API's preview of the change
// planned it under the new prefix, where a 62-character name is too long
// (and any other would preview a role that is not the live one).
func TestChangeFormKeepsTheLiveNameUnderANewPrefix(t *testing.T) {
	t.Parallel()
	r, name, renamed := liveRoleUnderANewPrefix(t)
	f := uiServe(t, renamed, uiProxyIdentity())
	liveARN := "role/rolegate/" + name
	noNameProblem := func(what string, page uiResponse) {
		t.Helper()
		if strings.Contains(page.body, `id="f-name-error"`) || strings.Contains(page.body, "at most 64") || strings.Contains(page.body, "team-"+name) {
			t.Errorf("%s plans the change under the new prefix:\n%s", what, pageExcerpt(page.body))
		}
	}

	alice := f.client("alice", "requesters")
	form := alice.get(fmt.Sprintf("/requests/%d/change", r.ID))
	pageHas(t, form, liveARN)
	noNameProblem("the change form", form)

	change := url.Values{"change_of": {fmt.Sprint(r.ID)}, "name": {name}, "bucket": {"team-reports"}, "prefix": {"daily/eu/"}, "access": {"read"},
		"justification": {"only the EU reports"}}
	pv := alice.post("/requests/preview", change)
	pageHas(t, pv, liveARN)
	noNameProblem("the change's live preview", pv)

	change.Set("expires", "not a date")
	sent := alice.post(fmt.Sprintf("/requests/%d/change", r.ID), change)
	if sent.status != http.StatusUnprocessableEntity {
		t.Fatalf("a change with an unreadable expiry: %d", sent.status)
	}
	pageHas(t, sent, `id="f-expires-error"`)
	noNameProblem("the change form sent back", sent)

	env := &apiEnv{t: t, db: renamed, srv: f.srv, tokens: map[string]string{}, tok: map[string]store.Token{}}
	env.addToken(asAlice, store.NewToken{User: "alice", Roles: []store.Role{store.RoleRequester}})
	api := env.do(req{method: "POST", path: pathf("/api/v1/preview?change_of=%d", r.ID), as: asAlice, body: spec(name)})
	wantStatus(t, api, http.StatusOK)
	if !strings.Contains(string(api.body), `"role_name":"`+name+`"`) {
		t.Errorf("the API's preview of the change: %s", api.body)
	}
}
