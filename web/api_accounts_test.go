package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
)

// wantFieldProblem checks r is a problem of status naming field.
func wantFieldProblem(t *testing.T, r resp, status int, field, says string) {
	t.Helper()
	wantStatus(t, r, status)
	p := r.problem(t)
	for _, e := range p.Errors {
		if e.Field == field && strings.Contains(e.Message, says) {
			return
		}
	}
	t.Fatalf("problem %+v, want %s at field %s", p, says, field)
}

func TestAPIRequestsNameTheirAccount(t *testing.T) {
	set := storetest.TwoAccounts()
	env := setupAPIWith(t, api.Limits{}, store.Options{Settings: &set})
	body := spec("nightly-report")
	body["account"] = "prod"

	var pv api.PreviewView
	r := env.do(req{method: "POST", path: "/api/v1/preview", as: asAlice, body: body})
	wantStatus(t, r, 200)
	r.json(t, &pv)
	if pv.Plan.Account != "prod" || !strings.Contains(pv.Plan.RoleARN, ":222222222222:") {
		t.Fatalf("preview plan = %+v, want it in prod", pv.Plan)
	}

	r = env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body})
	wantStatus(t, r, http.StatusCreated)
	var v api.RequestDetail
	r.json(t, &v)
	if v.Account != "prod" || v.Spec.Account != "prod" || v.Plan == nil || v.Plan.RoleARN != "arn:aws:iam::222222222222:role/rolegate/nightly-report" {
		t.Fatalf("created = account %q, spec %q, plan %+v", v.Account, v.Spec.Account, v.Plan)
	}
	if len(v.History) == 0 || v.History[0].Data["account"] != "prod" {
		t.Fatalf("history = %+v, want the submitted event to name prod", v.History)
	}
	// The same name in the default account is another role.
	devID := env.create(asAlice, "nightly-report")

	for _, tc := range []struct {
		query string
		want  int64
	}{{"?account=prod", v.ID}, {"?account=dev", devID}} {
		var page api.RequestPage
		r := env.do(req{method: "GET", path: "/api/v1/requests" + tc.query, as: asAlice})
		wantStatus(t, r, 200)
		r.json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != tc.want {
			t.Errorf("GET %s = %+v, want request %d alone", tc.query, page.Items, tc.want)
		}
	}
	wantFieldProblem(t, env.do(req{method: "GET", path: "/api/v1/requests?account=staging", as: asAlice}),
		http.StatusBadRequest, "account", "dev, prod")

	body["account"] = "staging"
	for _, path := range []string{"/api/v1/requests", "/api/v1/preview"} {
		wantFieldProblem(t, env.do(req{method: "POST", path: path, as: asAlice, body: body}),
			http.StatusUnprocessableEntity, "account", `there is no account named "staging"`)
	}

	// A change cannot move the role.
	env.activate(v.ID)
	change := spec("nightly-report")
	change["account"] = "dev"
	wantFieldProblem(t, env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", v.ID), as: asAlice, body: change}),
		http.StatusUnprocessableEntity, "account", "a role cannot move to another account")

	var roles api.RolePage
	r = env.do(req{method: "GET", path: "/api/v1/roles", as: asErin})
	wantStatus(t, r, 200)
	r.json(t, &roles)
	if len(roles.Items) != 1 || roles.Items[0].Account != "prod" {
		t.Fatalf("roles = %+v, want the prod role with its account", roles.Items)
	}
}
