package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestFormSessionHoursOutOfRange: 1193048 hours used to be multiplied in
// int32 and stored as 5504 seconds. Every out-of-range or unreadable
// session length is a 422 at the session field, in hours, and nothing
// is stored; the new and the change forms alike.
func TestFormSessionHoursOutOfRange(t *testing.T) {
	env := secSetup(t)
	alice := env.clients[zOwner]
	form := func(name, hours string) url.Values {
		return url.Values{"name": {name}, "description": {"reads reports"}, "justification": {"the nightly job reads it"},
			"bucket": {"team-reports"}, "prefix": {"daily/"}, "access": {"read"}, "session_hours": {hours}}
	}
	active := env.fixture("active")
	// Every value out of range reads the same, whether it fits an int or
	// not: the range, at the field and in the summary.
	const outOfRange = "session length must be 1 to 12 hours"
	for i, hours := range []string{"1193048", "13", "0", "-1", "2147483647", "596524", "99999999999", "99999999999999999999"} {
		name := fmt.Sprintf("session-%d", i)
		for _, path := range []string{"/requests/new", pathf("/requests/%d/change", active.ID)} {
			r := alice.post(path, form(name, hours))
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("POST %s session_hours=%s: %d, want 422\n%s", path, hours, r.status, pageExcerpt(r.body))
			}
			pageHas(t, r, `id="error-summary"`, `href="#f-session"`,
				`<p class="field-error" id="f-session-error">`+outOfRange+`</p>`)
			pageLacks(t, r, "out of range")
		}
	}
	// The live preview shows the problem instead of a plan.
	f := form("session-preview", "1193048")
	f.Set("csrf", alice.csrf)
	pv := alice.do(http.MethodPost, "/requests/preview", f)
	pageHas(t, pv, outOfRange)
	pageLacks(t, pv, "aws_iam_role")
	// Other problems are reported with it, not after it.
	r := alice.post("/requests/new", form("bad name!", "1193048"))
	pageHas(t, r, outOfRange, `href="#f-name"`)
	r = alice.post("/requests/new", form("session-text", "a lot"))
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("session_hours=a lot: %d", r.status)
	}
	pageHas(t, r, "choose a session length from the list (1 to 12 hours)")

	page, err := env.db.ListRequests(ctxT(t), store.ListFilter{Requester: "alice", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range page.Requests {
		if req.ID != active.ID {
			t.Fatalf("request %s (session %ds) was stored from an out-of-range form", req.Spec.Name, req.Spec.MaxSessionDuration)
		}
	}
	got, err := env.db.ListVersions(ctxT(t), active.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("the active role got a change from an out-of-range form: %d versions, %v", len(got), err)
	}

	// In range, the hours become seconds.
	r = alice.post("/requests/new", form("session-ok", "12"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("session_hours=12: %d\n%s", r.status, pageExcerpt(r.body))
	}
	page, err = env.db.ListRequests(ctxT(t), store.ListFilter{Requester: "alice", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range page.Requests {
		if req.Spec.Name == "session-ok" && req.Spec.MaxSessionDuration != 43200 {
			t.Fatalf("12 hours stored as %ds", req.Spec.MaxSessionDuration)
		}
	}
}

// A form whose session or expiry cannot be read still reports the
// justification's problems with the spec's: an empty or bidi-laced
// justification was said only after the session was fixed, a second
// round trip the spec's own problems did not need.
func TestFormReportsJustificationWithItsOwnErrors(t *testing.T) {
	env := secSetup(t)
	alice := env.clients[zOwner]
	active := env.fixture("active")
	for _, path := range []string{"/requests/new", pathf("/requests/%d/change", active.ID)} {
		for _, tc := range []struct{ justification, want string }{
			{"", "say why the role is needed"},
			{"reads \u202ereports", "justification contains an invisible control character (U+202E"},
		} {
			for _, own := range []url.Values{{"session_hours": {"a lot"}}, {"expires": {"soon"}}} {
				f := url.Values{"name": {fmt.Sprintf("just-%d", env.seq.Add(1))}, "justification": {tc.justification},
					"bucket": {"team-reports"}, "access": {"read"}}
				for k, v := range own {
					f[k] = v
				}
				r := alice.post(path, f)
				if r.status != http.StatusUnprocessableEntity {
					t.Fatalf("POST %s %v: %d, want 422\n%s", path, own, r.status, pageExcerpt(r.body))
				}
				pageHas(t, r, `href="#f-justification"`, tc.want)
			}
		}
	}
}

// TestAPIWrongShapedValuesAre422: a well-formed JSON value of the wrong
// shape is the caller's mistake on that field (422 naming it, in words),
// not malformed JSON; an expires_at of a date alone used to be a 400 with
// Go's time layout in it.
func TestAPIWrongShapedValuesAre422(t *testing.T) {
	env := secSetup(t)
	api := env.api
	pending := env.fixture("pending")
	with := func(k string, v any) map[string]any {
		b := spec(fmt.Sprintf("shape-%d", env.seq.Add(1)))
		b[k] = v
		return b
	}
	cases := []struct {
		path    string
		as      string
		body    any
		field   string
		message string
	}{
		{"/api/v1/requests", zOwner, with("expires_at", "2027-01-01"), "expires_at", `e.g. "2027-01-01T23:59:59Z" for the end of that day in UTC`},
		{"/api/v1/requests", zOwner, with("expires_at", "next tuesday"), "expires_at", "must be an RFC 3339 time with a zone"},
		{"/api/v1/requests", zOwner, with("expires_at", 1893456000), "expires_at", "as a string"},
		{"/api/v1/requests", zOwner, with("expires_at", map[string]any{}), "expires_at", "as a string"},
		{"/api/v1/preview", zOwner, with("expires_at", "2027-01-01"), "expires_at", "a date alone is not accepted"},
		{pathf("/api/v1/requests/%d/changes", pending.ID), zOwner, with("expires_at", "2027-01-01"), "expires_at", "a date alone"},
		{"/api/v1/requests", zOwner, with("max_session_duration", 4294972800), "max_session_duration", "from 3600 (1 hour) to 43200 (12 hours); 4294972800 is not"},
		{"/api/v1/requests", zOwner, with("max_session_duration", 3600.5), "max_session_duration", "whole number of seconds"},
		{"/api/v1/requests", zOwner, with("max_session_duration", "3600"), "max_session_duration", "must be a number, not a string"},
		{"/api/v1/requests", zOwner, with("name", 7), "name", "must be a string, not a number"},
		{"/api/v1/requests", zOwner, with("justification", true), "justification", "must be a string, not true or false"},
		{"/api/v1/requests", zOwner, with("buckets", map[string]any{}), "buckets", "must be an array, not an object"},
		// Inside an array the field is named with its index, as validation names it.
		{"/api/v1/preview", zOwner, map[string]any{"name": "a", "buckets": []map[string]any{{"bucket": 1, "access": "read"}}}, "buckets[0].bucket", "must be a string, not a number"},
		{"/api/v1/requests", zOwner, with("buckets", []any{map[string]any{"bucket": "example-bucket", "access": "read"},
			map[string]any{"bucket": "example-bucket", "prefix": true, "access": "read"}}), "buckets[1].prefix", "must be a string, not true or false"},
		{"/api/v1/requests", zOwner, with("buckets", []any{map[string]any{"bucket": "example-bucket", "access": []string{"read"}}}), "buckets[0].access", "must be a string, not an array"},
		{"/api/v1/requests", zOwner, with("buckets", []any{map[string]any{"bucket": "example-bucket", "access": "read"}, "other-bucket"}), "buckets[1]", "must be an object, not a string"},
		{"/api/v1/requests", zOwner, with("managed_policies", []any{"ReadOnlyAccess", 7}), "managed_policies[1]", "must be a string, not a number"},
		{pathf("/api/v1/requests/%d/approve", pending.ID), zApprover, map[string]any{"expires_at": "2027-01-01"}, "expires_at", "a date alone"},
		{pathf("/api/v1/requests/%d/approve", pending.ID), zApprover, map[string]any{"version": 1e30}, "version", "must be a version number"},
		{pathf("/api/v1/requests/%d/approve", pending.ID), zApprover, map[string]any{"version": -1}, "version", "must be a version number"},
		{pathf("/api/v1/requests/%d/approve", pending.ID), zApprover, map[string]any{"version": "1"}, "version", "must be a number, not a string"},
	}
	for _, c := range cases {
		r := api.do(req{method: http.MethodPost, path: c.path, as: c.as, body: c.body})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s %v: %d, want 422\n%s", c.path, c.body, r.StatusCode, r.body)
			continue
		}
		p := r.problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Field != c.field || !strings.Contains(p.Errors[0].Message, c.message) {
			t.Errorf("%s %v: errors %+v, want %s: …%s…", c.path, c.body, p.Errors, c.field, c.message)
		}
		if strings.Contains(string(r.body), "2006-01-02") || strings.Contains(string(r.body), "Go ") {
			t.Errorf("%s: Go internals in the answer: %s", c.path, r.body)
		}
	}
	// Nothing was decided or stored on the way.
	if got, err := env.db.GetRequest(ctxT(t), pending.ID); err != nil || got.Status != store.StatusPending || got.Version != 1 {
		t.Fatalf("pending request after refused calls: %+v, %v", got.Status, err)
	}
	page, err := env.db.ListRequests(ctxT(t), store.ListFilter{Limit: 100})
	if err != nil || len(page.Requests) != 1 {
		t.Fatalf("%d requests stored by refused calls (%v)", len(page.Requests), err)
	}
	// A full RFC 3339 time is taken, and truly malformed JSON is still a 400.
	ok := with("expires_at", "2030-01-31T23:59:59Z")
	if r := api.do(req{method: http.MethodPost, path: "/api/v1/requests", as: zOwner, body: ok}); r.StatusCode != http.StatusCreated {
		t.Fatalf("RFC 3339 expiry: %d %s", r.StatusCode, r.body)
	}
	if r := api.do(req{method: http.MethodPost, path: "/api/v1/requests", as: zOwner, body: `{"expires_at": 2027-01-01}`}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unquoted date: %d, want 400 malformed JSON", r.StatusCode)
	}
}
