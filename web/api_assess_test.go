package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/web/api"
)

// TestAPIDecisionAids: the request resource, the list and the preview carry
// the access in words, the risk flags, the reuse of a live role and a
// change's verdict, each valid against the OpenAPI document (env.do).
func TestAPIDecisionAids(t *testing.T) {
	env := setupAPI(t)
	live, narrower := env.liveAndNarrower("etl-daily")
	var pv api.PreviewView
	p := env.do(req{method: "POST", path: "/api/v1/preview", as: asAlice, body: narrower})
	wantStatus(t, p, 200)
	p.json(t, &pv)
	if pv.Summary == nil || pv.Summary.Access[0] != "list keys under `reports/daily/` in `example-bucket`" ||
		len(pv.Reuse) != 1 || pv.Reuse[0].RoleName != "etl-reader" || pv.Reuse[0].RequestID != live {
		t.Fatalf("preview: %+v", pv)
	}
	if len(pv.Risks) != 1 || pv.Risks[0].Code != "no-expiry" || pv.Risks[0].Message != "never expires" {
		t.Fatalf("preview risks: %+v", pv.Risks)
	}
	// Erin owns no role granting it: no reuse for her.
	p = env.do(req{method: "POST", path: "/api/v1/preview", as: asErin, body: narrower})
	p.json(t, &pv)
	if len(pv.Reuse) != 0 {
		t.Fatalf("erin's preview names alice's role: %+v", pv.Reuse)
	}

	second := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: narrower})
	wantStatus(t, second, 201)
	d := second.detail(t)
	r := env.do(req{method: "GET", path: pathf("/api/v1/requests/%d", d.ID), as: asBob})
	wantStatus(t, r, 200)
	r.json(t, &d)
	if len(d.Reuse) != 1 || d.Reuse[0].Owner != "alice" || d.Summary == nil ||
		!strings.HasPrefix(d.Summary.Text, "List keys under `reports/daily/` in `example-bucket`; read objects under `example-bucket/reports/daily/`.") ||
		d.Summary.Trust != "EC2 instances in this account" {
		t.Fatalf("approver's view: reuse %+v summary %+v", d.Reuse, d.Summary)
	}

	// A change of the live role to the whole bucket, read-write: it widens.
	wider := spec("etl-reader")
	wider["buckets"] = []map[string]any{{"bucket": "example-bucket", "access": "read-write"}}
	c := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", live), as: asAlice, body: wider})
	wantStatus(t, c, 201)
	c.json(t, &d)
	if d.Change == nil || d.Change.NoNewAccess || !strings.Contains(d.Change.Text, "adds: list every key in `example-bucket`") {
		t.Fatalf("change: %+v", d.Change)
	}
	codes := map[string]bool{}
	for _, risk := range d.Risks {
		codes[risk.Code] = true
	}
	for _, want := range []string{"whole-bucket-write", "delete", "no-expiry", "widens"} {
		if !codes[want] {
			t.Errorf("change risks %+v lack %s", d.Risks, want)
		}
	}

	var page api.RequestPage
	l := env.do(req{method: "GET", path: "/api/v1/requests?risk=widens", as: asBob})
	wantStatus(t, l, 200)
	l.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != live || page.Items[0].Summary == nil || page.Items[0].Summary.Short == "" {
		t.Fatalf("risk=widens lists %+v", page.Items)
	}
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests?risk=scary", as: asBob}), 400)
}

// TestAPIChangeNarrows: a change that keeps a live grant under a narrower
// prefix says it narrows that grant, not that it removes it, valid against
// the OpenAPI document (env.do).
func TestAPIChangeNarrows(t *testing.T) {
	env := setupAPI(t)
	live, narrower := env.liveAndNarrower("etl-reader")
	c := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", live), as: asAlice, body: narrower})
	wantStatus(t, c, 201)
	var d api.RequestDetail
	c.json(t, &d)
	want := []string{"list keys under `reports/` in `example-bucket` to `example-bucket/reports/daily/`",
		"read objects under `example-bucket/reports/` to `example-bucket/reports/daily/`"}
	if d.Change == nil || !d.Change.NoNewAccess || len(d.Change.Adds) != 0 || len(d.Change.Removes) != 0 ||
		!slices.Equal(d.Change.Narrows, want) || d.Change.Text != "narrows: "+strings.Join(want, "; ") {
		t.Fatalf("change: %+v", d.Change)
	}
}

// liveAndNarrower makes alice's etl-reader live (read on
// example-bucket/reports/) and returns it with a spec named name that
// reads only reports/daily/ of the same bucket.
func (env *apiEnv) liveAndNarrower(name string) (int64, map[string]any) {
	live := env.create(asAlice, "etl-reader")
	env.activate(live)
	narrower := spec(name)
	narrower["buckets"] = []map[string]any{{"bucket": "example-bucket", "prefix": "reports/daily/", "access": "read"}}
	return live, narrower
}
