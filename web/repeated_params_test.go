package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/web/problem"
)

// TestPagesRefuseARepeatedListParameter: a list parameter given twice
// (?account=dev&account=prod) is refused with 422, as a bad filter value
// is, naming the parameter, rather than read as its first value.
func TestPagesRefuseARepeatedListParameter(t *testing.T) {
	f := uiProxyTest(t)
	carol := f.client("carol", adminGroups)
	for path, name := range map[string]string{
		"/dashboard?account=default&account=other":  "account",
		"/dashboard?status=all&status=pending":      "status",
		"/dashboard?risk=delete&q=x&risk=no-expiry": "risk",
		"/audit?actor=alice&actor=bob":              "actor",
		"/reviews?state=due&state=due":              "state",
		"/requests?cursor=a&cursor=b":               "cursor",
		"/roles?cursor=a&cursor=b":                  "cursor",
		"/settings/tokens?all=1&all=0":              "all",
	} {
		r := carol.get(path)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Give "+name+" once: the address gives it 2 times") {
			t.Errorf("%s: %d, want 422 naming %s\n%s", path, r.status, name, pageExcerpt(r.body))
		}
	}
	// Each once is fine.
	if r := carol.get("/dashboard?status=all&risk=delete&q=x"); r.status != http.StatusOK {
		t.Errorf("dashboard with each filter once: %d\n%s", r.status, pageExcerpt(r.body))
	}
}

// TestAPIRefusesARepeatedQueryParameter: the API's lists refuse a
// repeated parameter as they refuse a bad value, with 400 bad-query and
// the parameter named at its field.
func TestAPIRefusesARepeatedQueryParameter(t *testing.T) {
	env := setupAPI(t)
	for path, name := range map[string]string{
		"/api/v1/requests?account=default&account=other": "account",
		"/api/v1/requests?status=pending&status=active":  "status",
		"/api/v1/requests?limit=1&limit=2":               "limit",
		"/api/v1/roles?cursor=a&cursor=b":                "cursor",
		"/api/v1/events?actor=alice&actor=bob":           "actor",
		"/api/v1/reviews?state=due&state=upcoming":       "state",
	} {
		r := env.do(req{method: "GET", path: path, as: asCarol})
		wantFieldProblem(t, r, http.StatusBadRequest, name, "given 2 times; give "+name+" once")
		if p := r.problem(t); p.Type != problem.Base+"bad-query" {
			t.Errorf("%s: %s, want bad-query", path, p.Type)
		}
	}
	wantStatus(t, env.do(req{method: "GET", path: "/api/v1/requests?status=pending&limit=1", as: asCarol}), http.StatusOK)
}
