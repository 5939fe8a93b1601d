package web

import (
	"testing"
)

// Each request's log line names who it acted for, a browser user or an
// API token's user, so an operator can tie a failure or a refusal to a
// person; a request nobody is signed in for has no user. The line named
// the route, status and request ID only.
func TestRequestLogNamesTheUser(t *testing.T) {
	t.Parallel()
	env, logs := newLoggedAPIEnv(t)

	env.do(req{method: "GET", path: "/api/v1/me", as: asAlice})
	f := &uiFixture{t: t, db: env.db, srv: env.srv, ctx: uiCtx(t)}
	f.client("bob", approverGroups).get("/dashboard")
	if resp, err := env.srv.Client().Get(env.srv.URL + "/signin"); err == nil {
		resp.Body.Close()
	}

	line := func(records []map[string]string, route string) map[string]string {
		for _, rec := range records {
			if rec["msg"] == "http request" && rec["route"] == route {
				return rec
			}
		}
		return nil
	}
	records := logs.await(t, func(records []map[string]string) bool {
		return line(records, "/api/v1/me") != nil && line(records, "/dashboard") != nil && line(records, "/signin") != nil
	})
	if got := line(records, "/api/v1/me")["user"]; got != "alice" {
		t.Errorf("the API request's line has user %q, want alice: %v", got, line(records, "/api/v1/me"))
	}
	if got := line(records, "/dashboard")["user"]; got != "bob" {
		t.Errorf("the page request's line has user %q, want bob: %v", got, line(records, "/dashboard"))
	}
	if got, ok := line(records, "/signin")["user"]; ok {
		t.Errorf("a request nobody is signed in for has user %q", got)
	}
}
