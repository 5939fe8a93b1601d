package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/web/problem"
)

// hostileText is thrown at every free-text field.
var hostileText = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`javascript:alert(1)`,
	`'; DROP TABLE requests;--`,
	`","Effect":"Allow","Action":"*","Resource":"*`,
	`"}],"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}],"x":[{"`,
	`${aws:username}`,
	"nul\x00byte",
	"bad \xff\xfe utf-8",
	"\u202eevil\u200b",
	"line\r\nSet-Cookie: rolegate_session=x",
	strings.Repeat("A", 5000),
}

// hostileScope is thrown at the bucket and the prefix: wildcards, ARNs,
// traversal and policy variables must never widen a policy.
var hostileScope = []string{
	"*", "?", "arn:aws:s3:::*", "arn:aws:s3:::other-bucket", "../", "../../other", "a/../../b", "${aws:username}",
	"logs/*", "logs?", "team-*", "my-bucket/*", `logs","arn:aws:s3:::*`, "%2A", "\\*", " *", "*\x00",
	strings.Repeat("b", 300),
}

// hostileCase is one spec with one field replaced.
type hostileCase struct {
	field, payload string
}

func hostileCases() []hostileCase {
	var out []hostileCase
	for _, p := range hostileText {
		for _, f := range []string{"name", "description", "justification", "bucket", "prefix"} {
			out = append(out, hostileCase{f, p})
		}
	}
	for _, p := range hostileScope {
		out = append(out, hostileCase{"bucket", p}, hostileCase{"prefix", p}, hostileCase{"access", p})
	}
	return out
}

// inert fails the test when body carries payload as live markup.
func inert(t *testing.T, what, body, payload string) {
	t.Helper()
	if strings.ContainsAny(payload, `<>"'&`) && strings.Contains(body, payload) {
		t.Errorf("%s: payload %q appears unescaped", what, clip(payload, 60))
	}
	for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`, `src="javascript:`} {
		if strings.Contains(body, bad) {
			t.Errorf("%s: body holds %q", what, bad)
		}
	}
}

// scopeOf is the one bucket scope of a case.
func (c hostileCase) spec(name string) (provision.RoleSpec, string) {
	s := provision.RoleSpec{Name: name, Description: "reads reports",
		Buckets: []provision.BucketScope{{Bucket: "hostile-bucket", Prefix: "in/", Access: provision.AccessRead}}}
	j := "the nightly job reads it"
	switch c.field {
	case "name":
		s.Name = c.payload
	case "description":
		s.Description = c.payload
	case "justification":
		j = c.payload
	case "bucket":
		s.Buckets[0].Bucket = c.payload
	case "prefix":
		s.Buckets[0].Prefix = c.payload
	case "access":
		s.Buckets[0].Access = provision.Access(c.payload)
	}
	return s, j
}

// TestHostileInputThroughTheForm submits every hostile value through the
// new-request form: each is refused with a 4xx naming the problem, or
// stored, rendered escaped, and planned within the submitted scope.
func TestHostileInputThroughTheForm(t *testing.T) {
	env := secSetup(t)
	alice, bob := env.clients[zOwner], env.clients[zApprover]
	accepted := 0
	for i, c := range hostileCases() {
		s, just := c.spec(fmt.Sprintf("form-hostile-%d", i))
		form := url.Values{"name": {s.Name}, "description": {s.Description}, "justification": {just},
			"bucket": {s.Buckets[0].Bucket}, "prefix": {s.Buckets[0].Prefix}, "access": {string(s.Buckets[0].Access)}}
		what := fmt.Sprintf("form %s=%q", c.field, clip(c.payload, 40))
		form.Set("csrf", env.csrfFor(alice, env.api.srv.URL))
		pv := alice.do(http.MethodPost, "/requests/preview", form)
		if pv.status != http.StatusOK && pv.status != http.StatusBadRequest {
			t.Errorf("%s: preview %d", what, pv.status)
		}
		inert(t, what+" preview", pv.body, c.payload)

		r := alice.do(http.MethodPost, "/requests/new", form)
		inert(t, what, r.body, c.payload)
		switch {
		case r.status == http.StatusSeeOther:
			accepted++
			id, err := strconv.ParseInt(strings.TrimPrefix(r.header.Get("Location"), "/requests/"), 10, 64)
			if err != nil {
				t.Fatalf("%s: redirected to %q", what, r.header.Get("Location"))
			}
			env.checkStored(t, what, id, s, just)
			d := alice.get(r.header.Get("Location"))
			inert(t, what+" detail", d.body, c.payload)
		case r.status == http.StatusUnprocessableEntity:
			if !strings.Contains(r.body, `id="error-summary"`) || !strings.Contains(r.body, "field-error") {
				t.Errorf("%s: 422 without errors at the fields:\n%s", what, pageExcerpt(r.body))
			}
		case r.status >= 400 && r.status < 500:
			if !strings.Contains(r.body, "<h1") {
				t.Errorf("%s: %d without a message page", what, r.status)
			}
		default:
			t.Errorf("%s: status %d\n%s", what, r.status, pageExcerpt(r.body))
		}
	}
	if accepted == 0 {
		t.Fatal("no hostile value was accepted: the inert-rendering checks did not run")
	}
	inert(t, "dashboard", bob.get("/dashboard").body, "<script>")
	for _, p := range hostileText {
		inert(t, "dashboard", bob.get("/dashboard").body, p)
	}
	t.Logf("%d cases, %d accepted", len(hostileCases()), accepted)
}

// TestHostileInputThroughTheAPI sends the same values as JSON: refused
// with problem+json naming the problem, or stored and planned within the
// submitted scope, and rendered escaped on the request's page.
func TestHostileInputThroughTheAPI(t *testing.T) {
	env := secSetup(t)
	alice := env.clients[zOwner]
	accepted := 0
	for i, c := range hostileCases() {
		s, just := c.spec(fmt.Sprintf("api-hostile-%d", i))
		body := rawJSON(t, map[string]any{"name": s.Name, "description": s.Description, "justification": just,
			"buckets": []map[string]any{{"bucket": s.Buckets[0].Bucket, "prefix": s.Buckets[0].Prefix, "access": s.Buckets[0].Access}}})
		what := fmt.Sprintf("api %s=%q", c.field, clip(c.payload, 40))
		pv := env.api.do(req{method: "POST", path: "/api/v1/preview", as: zOwner, body: body})
		if pv.StatusCode != http.StatusOK && pv.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: preview %d %s", what, pv.StatusCode, pv.body)
		}
		r := env.api.do(req{method: "POST", path: "/api/v1/requests", as: zOwner, body: body})
		switch {
		case r.StatusCode == http.StatusCreated:
			accepted++
			v := r.detail(t)
			if !utf8Valid(s, just) {
				// JSON decoding turned the bad bytes into U+FFFD: check
				// against what was stored.
				got, err := env.db.GetRequest(ctxT(t), v.ID)
				if err != nil {
					t.Fatal(err)
				}
				s, just = got.Spec, got.Justification
			}
			env.checkStored(t, what, v.ID, s, just)
			inert(t, what+" detail", alice.get(fmt.Sprintf("/requests/%d", v.ID)).body, c.payload)
		case r.StatusCode >= 400 && r.StatusCode < 500:
			p := r.problem(t)
			if r.StatusCode == http.StatusUnprocessableEntity && p.Type == problem.Base+"validation-failed" && len(p.Errors) == 0 {
				t.Errorf("%s: 422 without field errors: %s", what, r.body)
			}
		default:
			t.Errorf("%s: status %d %s", what, r.StatusCode, r.body)
		}
	}
	if accepted == 0 {
		t.Fatal("no hostile value was accepted")
	}
	t.Logf("%d cases, %d accepted", len(hostileCases()), accepted)
}

// TestHostileComments puts the hostile values into decisions' comments,
// through the dashboard form and the API.
func TestHostileComments(t *testing.T) {
	env := secSetup(t)
	bob := env.clients[zApprover]
	for _, p := range hostileText {
		what := fmt.Sprintf("comment %q", clip(p, 40))
		r := env.fixture("pending")
		res := bob.do(http.MethodPost, fmt.Sprintf("/requests/%d/decide", r.ID), url.Values{"version": {"1"}, "decision": {"reject"},
			"comment": {p}, "csrf": {env.csrfFor(bob, env.api.srv.URL)}})
		if res.status >= 500 {
			t.Errorf("form %s: %d", what, res.status)
		}
		inert(t, "form "+what, res.body, p)
		inert(t, "form "+what+" detail", bob.get(fmt.Sprintf("/requests/%d", r.ID)).body, p)

		r = env.fixture("pending")
		a := env.api.do(req{method: "POST", path: fmt.Sprintf("/api/v1/requests/%d/approve", r.ID), as: zApprover,
			body: rawJSON(t, map[string]any{"comment": p})})
		if a.StatusCode != http.StatusOK {
			if a.StatusCode >= 500 {
				t.Errorf("api %s: %d %s", what, a.StatusCode, a.body)
			} else {
				a.problem(t)
			}
		}
		inert(t, "api "+what+" detail", bob.get(fmt.Sprintf("/requests/%d", r.ID)).body, p)
	}
	inert(t, "audit", bob.get("/audit").body, "<script>alert(1)</script>")
}

// TestHugeBodies: over-large bodies are refused with 4xx, before the
// handlers read them whole.
func TestHugeBodies(t *testing.T) {
	env := secSetup(t)
	big := `{"name": "x", "description": "` + strings.Repeat("a", 70<<10) + `", "buckets": [], "justification": "j"}`
	r := env.api.do(req{method: "POST", path: "/api/v1/requests", as: zOwner, body: big})
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	r.problem(t)
	// Streamed, without a Content-Length.
	r = env.api.do(req{method: "POST", path: "/api/v1/requests", as: zOwner, body: strings.NewReader(big)})
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	r.problem(t)
	// Deeply nested JSON.
	r = env.api.do(req{method: "POST", path: "/api/v1/requests", as: zOwner, body: strings.Repeat("[", 20000)})
	if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("nested JSON: %d %s", r.StatusCode, r.body)
	}

	alice := env.clients[zOwner]
	csrf := env.csrfFor(alice, env.api.srv.URL)
	for name, form := range map[string]url.Values{
		"1 MiB description": {"name": {"big-form"}, "description": {strings.Repeat("d", 1<<20)}, "justification": {"j"},
			"bucket": {"hostile-bucket"}, "access": {"read"}},
		"many scope rows": {"name": {"rows"}, "justification": {"j"}, "bucket": slices.Repeat([]string{"hostile-bucket"}, 5000)},
		"11 MiB form":     {"name": {"huge"}, "description": {strings.Repeat("d", 11<<20)}},
	} {
		form.Set("csrf", csrf)
		for _, path := range []string{"/requests/new", "/requests/preview"} {
			res := alice.do(http.MethodPost, path, form)
			if res.status < 400 && path == "/requests/new" || res.status >= 500 {
				t.Errorf("%s to %s: %d", name, path, res.status)
			}
			if len(res.body) > 4<<20 {
				t.Errorf("%s to %s: a %d-byte answer", name, path, len(res.body))
			}
		}
	}
}

// rawJSON encodes v, then puts back any invalid UTF-8 json.Marshal
// replaced, so the server sees the bytes the attacker sent.
func rawJSON(t *testing.T, v map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte(`bad \ufffd\ufffd utf-8`), []byte("bad \xff\xfe utf-8"))
}

// TestHostileQueryParameters puts the hostile values into every filter
// of the list pages and the API's lists: a 4xx naming the problem or a
// page with the value escaped, never a 5xx.
func TestHostileQueryParameters(t *testing.T) {
	env := secSetup(t)
	env.fixture("active")
	bob := env.clients[zApprover]
	values := append(slices.Clone(hostileText[:len(hostileText)-1]), "%", "\\", "*", "'", strings.Repeat("q", 3000))
	pages := map[string][]string{
		"/dashboard": {"status", "q", "requester", "bucket", "since", "sort", "cursor", "before"},
		"/audit":     {"actor", "kind", "request", "since", "until", "before"},
		"/requests":  {"cursor"},
		"/roles":     {"cursor"},
	}
	api := map[string][]string{
		"/api/v1/requests": {"status", "requester", "bucket", "q", "updated_since", "cursor", "limit", "order"},
		"/api/v1/events":   {"request_id", "actor", "kind", "since", "until", "after", "limit"},
		"/api/v1/roles":    {"cursor", "limit"},
	}
	for _, v := range values {
		for page, params := range pages {
			for _, p := range params {
				path := page + "?" + url.Values{p: {v}}.Encode()
				r := bob.get(path)
				if r.status >= 500 {
					t.Errorf("GET %s: %d", clip(path, 80), r.status)
				}
				inert(t, "GET "+clip(path, 80), r.body, v)
			}
		}
		for path, params := range api {
			for _, p := range params {
				full := path + "?" + url.Values{p: {v}}.Encode()
				r := env.api.do(req{method: "GET", path: full, as: zApprover})
				if r.StatusCode >= 500 {
					t.Errorf("GET %s: %d %s", clip(full, 80), r.StatusCode, r.body)
				} else if r.StatusCode >= 400 {
					r.problem(t)
				}
			}
		}
	}
}

// clip shortens a payload for a failure message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
