package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/problem"
)

// A write that committed is answered as done (201, the request), though
// the reads that build its answer wait past the request's deadline, here
// on the decisions table another transaction holds: answered 503 "try
// again", the caller retried a request that existed and met 409.
func TestAPIWriteCommittedBeforeTheDeadlineIsAnswered(t *testing.T) {
	env := setupAPI(t)
	short, _ := serveWithTimeout(t, env.db, shortTimeout)
	ctx := uiCtx(t)
	lock, err := env.db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	patient := env.srv
	env.srv = short
	answered := make(chan resp, 1)
	go func() {
		answered <- env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("answered-late")})
	}()
	var got resp
	select {
	case got = <-answered: // the deadline ended the wait with the lock held
	case <-time.After(4 * shortTimeout): // the deadline has passed: let the reads go on
		if err := lock.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		got = <-answered
	}
	env.srv = patient
	wantStatus(t, got, http.StatusCreated)
	if v := got.detail(t); v.Spec.Name != "answered-late" || len(v.Versions) != 1 {
		t.Fatalf("the answer to the create: %+v", v)
	}
}

// A request whose body arrives after its deadline (a byte at a time, a
// stalled upload) is the client's slowness: 408, saying to send it again,
// not the 503 "the database took too long" its first database call met.
func TestAPISlowBodyIsARequestTimeout(t *testing.T) {
	env := setupAPI(t)
	short, _ := serveWithTimeout(t, env.db, shortTimeout)
	body, err := json.Marshal(spec("slow-upload"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.Write(body[:len(body)/2])
		<-time.After(3 * shortTimeout) // the request's deadline passes mid-body
		pw.Write(body[len(body)/2:])
		pw.Close()
	}()
	patient := env.srv
	env.srv = short
	got := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: pr})
	env.srv = patient
	wantStatus(t, got, http.StatusRequestTimeout)
	if p := got.problem(t); p.Type != problem.Base+"request-timeout" || !strings.Contains(p.Detail, "took longer to arrive") {
		t.Fatalf("a slow body: %+v", p)
	}
	if page, err := env.db.ListRequests(ctxT(t), store.ListFilter{Requester: "alice"}); err != nil || len(page.Requests) != 0 {
		t.Errorf("the slow request wrote %+v (%v), want nothing", page, err)
	}
}

// A request under an Idempotency-Key that runs out of time is logged as
// every other is (a warning, "timed out"): the key's middleware wrote its
// problem itself, so the log had only the request line.
func TestAPIKeyedRequestOutOfTimeIsLogged(t *testing.T) {
	env := setupAPI(t)
	id := env.create(asAlice, "keyed-behind-a-lock")
	env.activate(id)
	short, logs := serveWithTimeout(t, env.db, shortTimeout)
	change := spec("keyed-behind-a-lock")
	change["buckets"] = []map[string]any{{"bucket": "example-bucket", "prefix": "other/", "access": "read"}}

	release := lockRequestRow(t, env.db, id)
	patient := env.srv
	env.srv = short
	got := env.do(req{method: "POST", path: pathf("/api/v1/requests/%d/changes", id), as: asAlice, body: change,
		header: map[string]string{"Idempotency-Key": "change-behind-a-lock"}})
	env.srv = patient
	release()
	wantStatus(t, got, http.StatusServiceUnavailable)
	awaitTimeoutWarning(t, logs, "/api/v1/requests/:id/changes", got.Header.Get(echo.HeaderXRequestID))
}

// The same on the pages: a form that arrives after the request's deadline
// is answered 408, saying it was not saved, and nothing is decided.
func TestSlowFormIsARequestTimeout(t *testing.T) {
	f := uiProxyTest(t)
	r := uiCreate(t, f.db, uiNewReq("slow-form", "alice"))
	short, _ := serveWithTimeout(t, f.db, shortTimeout)
	bob := f.client("bob", approverGroups)
	bob.get("/requests")
	form := url.Values{"version": {"1"}, "decision": {"approve"}, "comment": {"fine"}, "csrf": {bob.csrf}}.Encode()

	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(form[:len(form)/2]))
		<-time.After(3 * shortTimeout) // the request's deadline passes mid-form
		pw.Write([]byte(form[len(form)/2:]))
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, short.URL+fmt.Sprintf("/requests/%d/decide", r.ID), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-User", "bob")
	req.Header.Set("X-Forwarded-Groups", approverGroups)
	res, body := roundTrip(t, bob.hc, req)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "The form took too long to arrive, so it was not saved.") {
		t.Fatalf("a slow form: %d\n%s", res.StatusCode, pageExcerpt(string(body)))
	}
	wantUndecided(t, f.db, r.ID, 1)
}
