package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// The callers of the matrix tests, behind the test proxy.
const (
	approverGroups = "approvers"
	adminGroups    = "admins"
)

func TestPagesByCaller(t *testing.T) {
	f := uiProxyTest(t)
	own := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("exports-writer", "alice",
		provision.BucketScope{Bucket: "team-exports", Access: provision.AccessReadWrite})))
	detail := fmt.Sprintf("/requests/%d", own.ID)

	callers := map[string]*uiClient{
		"signed out": f.client("", ""),
		"alice":      f.client("alice", ""),
		"erin":       f.client("erin", ""),
		"bob":        f.client("bob", approverGroups),
		"carol":      f.client("carol", adminGroups),
	}
	cases := []struct {
		path string
		want map[string]int
	}{
		{"/requests", map[string]int{"signed out": 303, "alice": 200, "erin": 200, "bob": 200, "carol": 200}},
		{"/requests/new", map[string]int{"signed out": 303, "alice": 200, "erin": 200, "bob": 200, "carol": 200}},
		{detail, map[string]int{"signed out": 303, "alice": 200, "erin": 403, "bob": 200, "carol": 200}},
		{detail + "/terraform", map[string]int{"signed out": 303, "alice": 200, "erin": 403, "bob": 200, "carol": 200}},
		{fmt.Sprintf("/requests/%d/change", live.ID), map[string]int{"signed out": 303, "alice": 200, "erin": 403, "bob": 403, "carol": 403}},
		{"/dashboard", map[string]int{"signed out": 303, "alice": 403, "erin": 403, "bob": 200, "carol": 200}},
		{"/roles", map[string]int{"signed out": 303, "alice": 200, "erin": 200, "bob": 200, "carol": 200}},
		{"/audit", map[string]int{"signed out": 303, "alice": 403, "erin": 403, "bob": 200, "carol": 200}},
		{"/requests/999999", map[string]int{"signed out": 303, "alice": 404, "bob": 404}},
		{"/", map[string]int{"signed out": 200, "alice": 303, "bob": 303}},
	}
	for _, tc := range cases {
		for who, want := range tc.want {
			r := callers[who].get(tc.path)
			if r.status != want {
				t.Errorf("%s GET %s = %d, want %d", who, tc.path, r.status, want)
			}
			if want == 303 && who == "signed out" && !strings.HasPrefix(r.header.Get("Location"), "/signin?next=") {
				t.Errorf("signed out GET %s redirects to %q, want the sign-in page", tc.path, r.header.Get("Location"))
			}
		}
	}
	// Friendly error pages name the problem and keep the layout.
	r := callers["erin"].get(detail)
	pageHas(t, r, "<title>You can&#39;t do that here · rolegate</title>", "belongs to someone else", `href="/requests/new"`)
	r = callers["alice"].get("/requests/999999")
	pageHas(t, r, "Page not found", "There is nothing here")
}

func TestPageTitlesAndContent(t *testing.T) {
	f := uiProxyTest(t)
	req := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	live := uiActivate(t, f.db, uiCreate(t, f.db, uiNewReq("exports-reader", "erin",
		provision.BucketScope{Bucket: "team-exports", Access: provision.AccessRead})))
	alice, bob := f.client("alice", ""), f.client("bob", approverGroups)

	pageHas(t, alice.get("/requests"), "<title>My requests · rolegate</title>", "reports-reader", `status-pending`)
	pageHas(t, alice.get("/requests/new"), "<title>New request · rolegate</title>", `for="f-name"`, `for="f-bucket-0"`, `for="f-access-0"`)
	d := alice.get(fmt.Sprintf("/requests/%d", req.ID))
	pageHas(t, d, "<title>Request #", "reports-reader", "submitted the request", "Trust policy", "ec2.amazonaws.com",
		"Access policy", `resource &#34;aws_iam_role&#34;`, "Download .tf", `id="action-cancel"`)
	pageLacks(t, d, `value="approve"`, `id="action-revoke"`)

	dash := bob.get("/dashboard")
	pageHas(t, dash, "<title>Approver dashboard · rolegate</title>", "reports-reader", `value="approve"`, `data-status="pending"`)
	roles := bob.get("/roles")
	pageHas(t, roles, "<title>Roles · rolegate</title>")
	textHas(t, roles, live.RoleARN, live.InstanceProfileARN)
	pageHas(t, bob.get("/audit"), "<title>Audit log · rolegate</title>", "request.submitted", "request.active")
	pageHas(t, bob.get("/audit?actor=alice"), "request.submitted")
	pageLacks(t, bob.get("/audit?actor=alice"), "request.active")
	if r := bob.get("/audit?since=yesterday"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "from must be a date") {
		t.Errorf("bad audit date = %d", r.status)
	}

	tf := alice.get(fmt.Sprintf("/requests/%d/terraform", live.ID))
	if tf.status != 403 {
		t.Errorf("alice downloads erin's Terraform: %d, want 403", tf.status)
	}
	tf = f.client("erin", "").get(fmt.Sprintf("/requests/%d/terraform", live.ID))
	if tf.status != 200 || tf.header.Get("Content-Disposition") != `attachment; filename="exports-reader.tf"` ||
		!strings.Contains(tf.body, `resource "aws_iam_instance_profile"`) {
		t.Errorf("terraform download = %d %q\n%s", tf.status, tf.header.Get("Content-Disposition"), tf.body)
	}
	// A version not provisioned yet downloads under a name that says so.
	pending := uiCreate(t, f.db, uiNewReq("pending-reader", "erin"))
	tf = f.client("erin", "").get(fmt.Sprintf("/requests/%d/terraform", pending.ID))
	if tf.status != 200 || tf.header.Get("Content-Disposition") != `attachment; filename="pending-reader.v1.not-approved.tf"` ||
		!strings.Contains(tf.body, "# Not approved yet.") {
		t.Errorf("pending terraform download = %d %q", tf.status, tf.header.Get("Content-Disposition"))
	}
}

func TestNewRequestForm(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	alice.get("/requests/new")
	form := url.Values{"name": {"reports-reader"}, "description": {"reads reports"}, "justification": {""},
		"bucket": {"team-reports"}, "prefix": {"daily/"}, "access": {"read"}}

	// Adding a row works without JavaScript and keeps what was typed.
	add := url.Values{}
	for k, v := range form {
		add[k] = v
	}
	add.Set("op", "add")
	r := alice.post("/requests/new", add)
	if r.status != 200 {
		t.Fatalf("add row = %d", r.status)
	}
	pageHas(t, r, `id="f-bucket-1"`, `value="team-reports"`, `value="daily/"`)
	pageLacks(t, r, "field-error")

	// Errors show at their fields, with a summary, and the input is kept.
	bad := url.Values{"name": {"reports reader"}, "justification": {""},
		"bucket": {"team-reports", "Bad_Bucket"}, "prefix": {"daily/", ""}, "access": {"read", "write"}}
	r = alice.post("/requests/new", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid submit = %d, want 422", r.status)
	}
	pageHas(t, r, `id="f-name-error"`, `id="f-justification-error"`, `id="f-bucket-1-error"`, `id="error-summary"`,
		`href="#f-bucket-1"`, `value="reports reader"`, `value="Bad_Bucket"`, `aria-invalid="true"`)
	// Removing a row works without JavaScript too.
	rm := url.Values{}
	for k, v := range bad {
		rm[k] = v
	}
	rm.Set("remove", "1")
	r = alice.post("/requests/new", rm)
	pageLacks(t, r, `id="f-bucket-1"`, "Bad_Bucket")

	// The live preview renders the plan, or lists problems.
	pv := alice.post("/requests/preview", form)
	pageHas(t, pv, "sts:AssumeRole", `arn:aws:s3:::team-reports`, `resource &#34;aws_iam_role&#34;`)
	pageLacks(t, pv, "<html")
	pageHas(t, alice.post("/requests/preview", bad), "Scope 2, bucket")

	form.Set("justification", "the nightly report job reads it")
	r = alice.post("/requests/new", form)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/requests/") {
		t.Fatalf("submit = %d %s\n%s", r.status, r.header.Get("Location"), pageExcerpt(r.body))
	}
	d := alice.get(r.header.Get("Location"))
	pageHas(t, d, "flash-ok", "submitted. Approvers have been asked", "reports-reader")
	// The flash shows once.
	pageLacks(t, alice.get(r.header.Get("Location")), "flash-ok")

	// A taken name is an error at the name field.
	r = alice.post("/requests/new", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate name = %d", r.status)
	}
	pageHas(t, r, `id="f-name-error"`, "already requested or live")
}

func TestCSRFRefused(t *testing.T) {
	f := uiProxyTest(t)
	req := uiCreate(t, f.db, uiNewReq("reports-reader", "alice"))
	bob := f.client("bob", approverGroups)
	bob.get("/dashboard")
	form := url.Values{"version": {"1"}, "decision": {"approve"}}
	for name, token := range map[string]string{"no token": "", "wrong token": "forged"} {
		vals := url.Values{}
		for k, v := range form {
			vals[k] = v
		}
		if token != "" {
			vals.Set("csrf", token)
		}
		r := bob.do(http.MethodPost, fmt.Sprintf("/requests/%d/decide", req.ID), vals)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "This form has expired") {
			t.Errorf("%s: status %d, want 403", name, r.status)
		}
	}
	// Another browser's token is no good either.
	other := f.client("bob", approverGroups)
	other.get("/dashboard")
	form.Set("csrf", other.csrf)
	if r := bob.do(http.MethodPost, fmt.Sprintf("/requests/%d/decide", req.ID), form); r.status != http.StatusForbidden {
		t.Errorf("foreign token: %d, want 403", r.status)
	}
	if got, _ := f.db.GetRequest(uiCtx(t), req.ID); got.Status != store.StatusPending {
		t.Errorf("request became %s", got.Status)
	}
}

func TestHostileInputEscaped(t *testing.T) {
	f := uiProxyTest(t)
	in := uiNewReq("reports-reader", "alice")
	in.Justification = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	req := uiCreate(t, f.db, in)
	bob := f.client("bob", approverGroups)
	bob.get("/dashboard")
	bob.follow(fmt.Sprintf("/requests/%d/decide", req.ID), url.Values{"version": {"1"}, "decision": {"reject"},
		"comment": {`</textarea><script>alert(2)</script>`}})
	for _, page := range []string{fmt.Sprintf("/requests/%d", req.ID), "/dashboard?status=rejected", "/audit"} {
		r := bob.get(page)
		pageLacks(t, r, "<script>alert", "<img src=x")
		if page != "/audit" {
			pageHas(t, r, "&lt;script&gt;alert(")
		}
	}
}

// A filter of the audit log that cannot be read is said at its field,
// which is marked invalid and described by the message, and keeps what
// was typed.
func TestAuditFilterProblemsAtTheirFields(t *testing.T) {
	f := uiProxyTest(t)
	bob := f.client("bob", approverGroups)
	r := bob.get("/audit?request=abc&since=yesterday&actor=alice")
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad filters answered %d", r.status)
	}
	pageHas(t, r,
		`id="au-request" name="request" value="abc" inputmode="numeric" aria-invalid="true" aria-describedby="au-request-error"`,
		`<p class="field-error" id="au-request-error">request must be a request number</p>`,
		`id="au-since" type="date" name="since" value="yesterday" aria-invalid="true" aria-describedby="au-since-error"`,
		`<p class="field-error" id="au-since-error">from must be a date like 2030-01-31</p>`,
		`id="au-actor" name="actor" value="alice"`)
	pageLacks(t, r, `id="au-until-error"`)
}
