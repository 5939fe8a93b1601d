package web

import (
	"net/http"
	"testing"
	"time"
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
	go func() { answered <- env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("answered-late")}) }()
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
