package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/problem"
)

// The API's Terraform of a request is its live version's: it stays
// served, unchanged, while a change waits for approval and after the
// change is rejected.
func TestAPITerraformIsTheLiveVersion(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "live-tf")
	env.activate(id)
	get := func() resp {
		return env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/terraform", id), as: asAlice})
	}
	live := get()
	wantStatus(t, live, 200)
	changed := spec("live-tf")
	changed["buckets"] = []map[string]any{{"bucket": "example-bucket", "access": "read"}}
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", id), as: asAlice, body: changed}), 201)
	for _, when := range []string{"while a change is pending", "after the change was rejected"} {
		r := get()
		if r.StatusCode != 200 || string(r.body) != string(live.body) || r.Header.Get("ETag") != live.Header.Get("ETag") {
			t.Fatalf("%s: %d %s, want the live version's Terraform", when, r.StatusCode, r.body)
		}
		if when == "while a change is pending" {
			wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/reject", id), as: asBob,
				body: map[string]any{"comment": "no", "version": 2}}), 200)
		}
	}
	// The change itself was never provisioned: it has none.
	wantStatus(t, env.do(req{method: "GET", path: pathf("/api/v1/requests/%d/versions/2/terraform", id), as: asAlice}), 404)
}

// approvalLines are the header lines that differ between a version's
// Terraform before its approval and after.
var approvalLines = regexp.MustCompile(`# Approved by: .*\n# Approved at: .*\n`)

// The Terraform shown for a pending request is, byte for byte, what the
// worker stores for that version once approved and provisioned (through
// the local IAM endpoint), except the header's approval lines; the
// new-request preview differs from it only where it has no request ID.
// All of them carry the installation tag of the store's database.
func TestPendingTerraformIsWhatTheWorkerStores(t *testing.T) {
	f := uiProxyTest(t)
	in := uiNewReq("byte-for-byte", "alice")
	r := uiCreate(t, f.db, in)
	alice := f.client("alice", "")
	pending := alice.get(fmt.Sprintf("/requests/%d/terraform", r.ID))
	if pending.status != http.StatusOK {
		t.Fatalf("pending Terraform: %d %s", pending.status, pending.body)
	}
	if strings.Contains(pending.body, "Approved") || !strings.Contains(pending.body, "# Not approved yet.\n") {
		t.Fatalf("pending Terraform claims an approval:\n%s", pending.body)
	}
	if strings.Contains(pending.body, "xpires") {
		t.Fatalf("pending Terraform shows an expiry the stored one cannot have:\n%s", pending.body)
	}
	page := alice.get(fmt.Sprintf("/requests/%d", r.ID))
	pageHas(t, page, "Not approved yet.")

	// The form of the request itself (its own name is not "taken").
	pv, err := buildPreview(uiCtx(t), Deps{Settings: f.db.Settings(), Store: f.db}, formFromRequest(r), store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(pv.Terraform, "preview", fmt.Sprint(r.ID)); got != pending.body {
		t.Fatalf("the preview differs from the pending request's Terraform beyond the request ID:\n%s\n---\n%s", pv.Terraform, pending.body)
	}

	if _, err := f.db.Decide(uiCtx(t), store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 1,
		store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	provisionWithWorker(t, f.db, r.ID)
	versions, err := f.db.ListVersions(uiCtx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored := versions[0].Terraform
	if !strings.Contains(stored, "# Approved by: bob\n") {
		t.Fatalf("stored Terraform does not name its approver:\n%s", stored)
	}
	// The role carries its installation's ID, and so does every
	// Terraform of it, the pending one and the preview included.
	if tag := `"rolegate:installation" = "` + f.db.Installation() + `"`; f.db.Installation() == "" || strings.Count(stored, tag) != 2 {
		t.Fatalf("stored Terraform does not tag role and profile with the installation's ID %q:\n%s", f.db.Installation(), stored)
	}
	if got := approvalLines.ReplaceAllString(stored, "# Not approved yet.\n"); got != pending.body {
		t.Fatalf("stored Terraform differs from the pending one beyond the approval lines:\n%s\n---\n%s", stored, pending.body)
	}
	if now := alice.get(fmt.Sprintf("/requests/%d/terraform", r.ID)); now.body != stored {
		t.Fatalf("after provisioning the page serves other Terraform than stored:\n%s", now.body)
	}
}

// The requester of a failed request is offered, and may use, revoke: a
// failed first provisioning may have left the role in IAM.
func TestAPIRevokeAFailedRequest(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "half-made")
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/approve", id), as: asBob, body: map[string]any{}}), 200)
	if err := env.db.FailProvisioning(ctxT(t), id, 1, "instance profile half-made exists and is not rolegate's"); err != nil {
		t.Fatal(err)
	}
	v := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", id), as: asAlice}).detail(t)
	if !slices.Contains(v.Actions, "revoke") || slices.Contains(v.Actions, "retry") {
		t.Fatalf("actions offered to the requester of a failed request: %v", v.Actions)
	}
	wantStatus(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/revoke", id), as: asErin}), 403)
	r := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/revoke", id), as: asAlice})
	wantStatus(t, r, 200)
	if v = r.detail(t); v.Status != store.StatusRevoking {
		t.Fatalf("after revoke: %s", v.Status)
	}
}

func TestAPITerraformRolesAndPreview(t *testing.T) {
	env := setupAPI(t)
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
